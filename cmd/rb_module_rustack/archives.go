package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newArchivesCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "archives",
		Short: "archives (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("archives: not yet available"))
		},
	}
}
