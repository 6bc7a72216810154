package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newImageCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "image",
		Short: "image (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("image: not yet available"))
		},
	}
}
