package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/mount"
	"rb_module_rustack/internal/snapshot"
)

func newCleanupCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "remove the snapshots, temporary volumes and attachments that killed runs left behind",
		Long: `Every backup and restore records each cloud resource it is about to create
in a journal under state_dir/journal before creating it. A run that is killed
(SIGKILL, power loss) leaves its journal; cleanup removes what such journals
name, plus any volume or snapshot whose name carries the dead run's prefix
(rbk-<job>-), in dependency order: detach from the proxy, delete the
temporary volumes, delete the snapshots. Runs still in progress (in this or
another process) are never touched. Every backup does the same at its start.

cleanup also unmounts the FUSE mounts of mount and files processes that
were killed (their mount point answers "Transport endpoint is not
connected"), before it reads the configuration.

Exit codes: 0 done (also when there was nothing to do); 1 something could
not be removed (its journal stays; run cleanup again); 2 bad configuration;
5 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// Mounts whose process was killed first: they need no
			// configuration and no cloud.
			mounts, merr := mount.SweepDead()
			for _, mp := range mounts {
				fmt.Fprintf(a.stderr, "removed dead mount %s (its mount or files process was killed)\n", mp)
			}
			cfg, log, err := a.configAndLog("cleanup")
			if err != nil {
				return err
			}
			defer log.Close()
			for _, mp := range mounts {
				log.Infof("removed dead mount %s (its mount or files process was killed)", mp)
			}
			if merr != nil {
				log.Errorf("%v", merr)
			}
			cloud, err := connect(ctx, cfg, &logging.OnceWarnings{Log: log}, false)
			if err != nil {
				return canceledOr(ctx, errors.Join(err, merr))
			}
			removed, err := backup.Sweep(ctx, cloud, journal.Dir(cfg.StateDir), snapshotTimeouts(cfg), log)
			if err == nil && merr != nil {
				err = withCode(exitFailure, merr)
			}
			if asJSON {
				if removed == nil {
					removed = []snapshot.Removed{}
				}
				if jerr := a.printJSON(removed); jerr != nil {
					return withCode(exitFailure, jerr)
				}
			} else {
				for _, r := range removed {
					fmt.Fprintf(a.stdout, "removed %-8s %s  %s  (job %s)\n", r.Kind, r.ID, r.Name, r.Job)
				}
				if len(removed) == 0 && err == nil {
					fmt.Fprintf(a.stdout, "nothing to clean up (journals in %s)\n", journal.Dir(cfg.StateDir))
				}
			}
			if err != nil {
				return canceledOr(ctx, err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was removed as JSON")
	return cmd
}
