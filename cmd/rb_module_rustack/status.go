package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/jobrecord"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/status"
	"rb_module_rustack/internal/units"
)

func newStatusCmd(a *app) *cobra.Command {
	var (
		maxAge  time.Duration
		asJSON  bool
		project bool
	)
	cmd := &cobra.Command{
		Use:   "status [--pool DIR | --store LOCATION] [--max-age 26h] [--project] [--json]",
		Short: "one line per VM: last backup, its type, result, duration, size and age; exit 1 when one is too old",
		Long: `Reports every VM of the pool (or store): its last backup (time, type,
result, duration, stored size), the age of its newest good backup, and a
state: ok, FAILED (the last backup failed), ANOMALY (the last backup looked
like a mass encryption, docs/monitoring.md) or STALE (no good backup within
--max-age). Failed jobs come from the job records in state_dir/jobs, so a
VM whose backups all fail shows too. With --project the VMs of the
project (cloud access needed) are listed as well, also those never backed up.

Exit code 0: every VM has a good backup within --max-age; 1: at least one
has not (a monitoring check can call this command); 2: bad usage.`,
		Example: `  rb_module_rustack status
  rb_module_rustack status --pool /backup --max-age 48h --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxAge <= 0 {
				return withCode(exitUsage, fmt.Errorf("--max-age %s: want a positive duration such as 26h", maxAge))
			}
			repo, cfg, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			list, err := repo.List(cmd.Context())
			if err != nil {
				return engineExit(err)
			}
			recs, err := jobrecord.ReadAll(jobrecord.Dir(cfg.StateDir))
			if err != nil {
				return withCode(exitFailure, err)
			}
			var vms []status.VM
			if project {
				c, err := connect(cmd.Context(), cfg, logging.Discard(), false)
				if err != nil {
					return withCode(exitFailure, fmt.Errorf("status --project: %w", err))
				}
				servers, err := c.ListServers(cmd.Context())
				if err != nil {
					return withCode(exitFailure, fmt.Errorf("status --project: %w", err))
				}
				for _, s := range servers {
					vms = append(vms, status.VM{ID: s.ID, Name: s.Name})
				}
			}
			rows := status.Build(list, recs, vms, time.Now(), maxAge)
			var stale []string
			for _, r := range rows {
				if r.Stale {
					stale = append(stale, cell(r.VMName))
				}
			}
			if asJSON {
				if err := a.printJSON(rows); err != nil {
					return withCode(exitFailure, err)
				}
			} else {
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "VM\tID\tLAST BACKUP\tTYPE\tRESULT\tDURATION\tSIZE\tAGE\tSTATE")
				for _, r := range rows {
					when, dur := "-", "-"
					if r.LastBackup != nil {
						when = r.LastBackup.Local().Format("2006-01-02 15:04:05")
					}
					if r.LastSeconds > 0 {
						dur = secs(r.LastSeconds).String()
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(r.VMName), cell(r.VMID), when, cell(r.LastType),
						cell(r.LastResult), dur, units.FormatBytes(r.LastSize), status.Age(r.AgeSeconds), r.State())
				}
				if err := tw.Flush(); err != nil {
					return withCode(exitFailure, err)
				}
			}
			if len(stale) > 0 {
				return withCode(exitFailure, fmt.Errorf("%d VM(s) without a good backup within %s: %s", len(stale), maxAge, strings.Join(stale, ", ")))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&maxAge, "max-age", 26*time.Hour, "a VM whose newest good backup is older is STALE (exit 1)")
	f.BoolVar(&asJSON, "json", false, "print a JSON array, one object per VM")
	f.BoolVar(&project, "project", false, "also list the project's VMs (cloud access), those never backed up included")
	addRepoFlags(cmd, false)
	return cmd
}
