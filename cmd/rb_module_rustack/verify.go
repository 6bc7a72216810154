package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/units"
)

func newVerifyCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify ARCHIVE",
		Short: "check an archive completely: structure, every tag, every chunk id",
		Long: `Reads everything ARCHIVE (an id or a path) needs for a restore: its file
structure, its manifest, the archives of its chain (or the dedup store), and
every chunk, authenticating each and recomputing its id. Each damaged or
missing chunk is named with its disk and byte range.

Exit code 0: intact; 4: damaged or missing data, or a wrong master key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, _, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			rep, err := repo.Verify(cmd.Context(), args[0])
			if err != nil {
				return engineExit(err)
			}
			if asJSON {
				if rep.Damaged == nil {
					rep.Damaged = []archive.Damage{}
				}
				if err := a.printJSON(rep); err != nil {
					return withCode(exitFailure, err)
				}
			} else {
				for _, d := range rep.Damaged {
					where := "archive"
					if d.Disk != "" {
						where = fmt.Sprintf("disk %s bytes %d-%d", d.Disk, d.Offset, d.Offset+d.Length)
					}
					fmt.Fprintf(a.stdout, "DAMAGED %s %s: %s\n", rep.Archive, where, d.Problem)
				}
			}
			if len(rep.Damaged) > 0 {
				return withCode(exitIntegrity, fmt.Errorf("archive %s: %d damaged or missing piece(s)", rep.Archive, len(rep.Damaged)))
			}
			if !asJSON {
				fmt.Fprintf(a.stdout, "OK %s: %d chunks, %s verified\n", rep.Archive, rep.Chunks, units.FormatBytes(rep.Bytes))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	addRepoFlags(cmd, false)
	return cmd
}
