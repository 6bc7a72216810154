package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/units"
)

func newConsolidateCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "consolidate ARCHIVE",
		Short: "write a synthetic full backup of an incremental or differential archive, so that its chain can go",
		Long: `Reads ARCHIVE (pool mode) through its chain and writes a full archive of the
same VM, disks and point in time: a synthetic full. When no other archive
needs ARCHIVE it is removed and the full takes its place; the bases it
needed are then needed by nothing newer, and forget can let them go. When
later incrementals still build on ARCHIVE it stays (they are named), and
the next incremental backup builds on the newest archive as always.

A nightly chain of incrementals keeps its first full alive for ever;
consolidating the newest archive now and then (or a full backup) ends the
chain. Dedup-store archives need no chain and are refused.

Exit codes: 0 done; 1 failed (nothing is changed: the temporary files are
removed); 2 unknown archive, a full or store-mode archive, or a lock another
process holds; 4 damaged chain or wrong key; 5 interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, cfg, err := a.openRepo(cmd, true)
			if err != nil {
				return err
			}
			defer repo.Close()
			log := a.engineLog(cfg, "consolidate")
			defer log.Close()
			res, err := repo.Consolidate(cmd.Context(), strings.TrimSuffix(args[0], ".rba"))
			if err != nil {
				return retentionExit(err) // logged as ERROR by logFailure
			}
			log.Infof("consolidate %s: wrote %s (replaced: %v)", res.Archive, res.Full, res.Replaced)
			if asJSON {
				return a.printJSON(res)
			}
			fmt.Fprintf(a.stdout, "synthetic full %s of %s (read from %d archive(s), %s stored)\n",
				res.Full, res.Archive, len(res.Chain), units.FormatBytes(res.Summary.BytesStored))
			if res.Replaced {
				fmt.Fprintf(a.stdout, "removed %s: the full takes its place\n", res.Archive)
			} else {
				fmt.Fprintf(a.stdout, "kept %s: still needed by %s\n", res.Archive, strings.Join(res.KeptBecause, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	addRepoFlags(cmd, true)
	return cmd
}
