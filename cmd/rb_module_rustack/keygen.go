package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newKeygenCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "keygen (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("keygen: not yet available"))
		},
	}
}
