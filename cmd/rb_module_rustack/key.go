package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newKeyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "key",
		Short: "key (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("key: not yet available"))
		},
	}
}
