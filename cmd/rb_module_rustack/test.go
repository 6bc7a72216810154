package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// SKELETON: replaced by the command's owner.
func newTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test",
		Short: "test (not yet available)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitFailure, errors.New("test: not yet available"))
		},
	}
}

func runTest(ctx context.Context, a *app) error {
	return errors.New("test: not yet available")
}
