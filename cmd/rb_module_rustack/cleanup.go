package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newCleanupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "cleanup (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("cleanup: not yet available"))
		},
	}
}
