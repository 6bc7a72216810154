package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newBackupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "backup",
		Short: "backup (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("backup: not yet available"))
		},
	}
}
