package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/units"
)

func newDeleteCmd(a *app) *cobra.Command {
	var withDependants, dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "delete ARCHIVE... [--with-dependants] [--dry-run]",
		Short: "remove the named archives; refuses when a kept archive needs one, unless --with-dependants",
		Long: `Removes the named archives (ids, as the archives command lists them): the
archive file in the pool and, in store mode, the store's copy of it; the
chunks only they referenced are freed by the next prune.

In pool mode an incremental needs every earlier archive of its chain and a
differential its full. Deleting an archive another one needs is refused,
naming those dependants, unless --with-dependants removes them too. The VMs'
exclusive locks are held while deleting (backups hold them shared).

Exit codes: 0 done; 1 failed (I/O); 2 unknown archive, archives that others
need, or a lock another process holds (named): nothing was removed;
5 interrupted.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, cfg, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			log := a.engineLog(cfg, "delete")
			defer log.Close()
			res, err := repo.Delete(cmd.Context(), args, withDependants, dryRun)
			if err != nil {
				return retentionExit(err) // logged as ERROR by logFailure
			}
			log.Infof("delete%s: removed %v", dryNote(dryRun), res.Removed)
			if asJSON {
				return a.printJSON(res)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, id := range res.Removed {
				fmt.Fprintf(a.stdout, "%s %s\n", verb, id)
			}
			fmt.Fprintf(a.stdout, "%d archive(s), %s of archive files\n", len(res.Removed), units.FormatBytes(res.BytesFreed))
			return nil
		},
	}
	cmd.Flags().BoolVar(&withDependants, "with-dependants", false, "also remove the archives that need the named ones")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	addRepoFlags(cmd, false)
	return cmd
}
