package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/config"
)

func newConfigCmd(a *app) *cobra.Command {
	var forOp string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "print the effective configuration (secrets hidden) and where each value comes from",
		Long: `Reads the configuration file and the rule parameters (--param) exactly as
every other command does, and prints each key, its effective value and its
origin (FILE:LINE, rule parameter, or default). Passwords print as ***.

With --for OP it also checks that the keys operation OP needs are set
(OP: list, test, backup, restore, cleanup, scripts, image).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := a.paramMap()
			if err != nil {
				return err
			}
			cfg, err := config.Load(a.configPath, params)
			if err != nil {
				return withCode(exitUsage, err)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
			for _, e := range cfg.Entries() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Key, e.Value, e.Origin)
			}
			if err := tw.Flush(); err != nil {
				return withCode(exitFailure, err)
			}
			if forOp != "" {
				if err := cfg.Require(forOp); err != nil {
					return withCode(exitUsage, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&forOp, "for", "", "also check the keys that operation `OP` needs")
	return cmd
}
