package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("list: not yet available"))
		},
	}
}

func runList(ctx context.Context, a *app, asJSON bool) error {
	return errors.New("list: not yet available")
}
