package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newRestoreCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "restore",
		Short: "restore (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("restore: not yet available"))
		},
	}
}
