package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/units"
)

func newVerifyCmd(a *app) *cobra.Command {
	var asJSON, all bool
	var subset string
	cmd := &cobra.Command{
		Use:   "verify ARCHIVE | --all [--read-data-subset P%]",
		Short: "check an archive completely: structure, every tag, every chunk id",
		Long: `Reads everything ARCHIVE (an id or a path) needs for a restore: its file
structure, its manifest, the archives of its chain (or the dedup store), and
every chunk, authenticating each and recomputing its id. Each damaged or
missing chunk is named with its disk and byte range.

With --all it checks the whole repository, for a periodic scrub: every
archive of the pool, and in store mode the store itself (every chunk an
archive references present in an index, every index entry in its pack,
packs no index lists and temporary files reported). --read-data-subset P%
reads only that share of the data, chosen at random each run (store mode:
of the packs; pool mode: of the archives, the others get the structural
check): with 10% every pack is read about once in ten runs.

Exit code 0: intact; 4: damaged or missing data, or a wrong master key.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return withCode(exitUsage, fmt.Errorf("give either ARCHIVE or --all"))
			}
			share := 1.0
			if subset != "" {
				v, err := strconv.ParseFloat(strings.TrimSuffix(subset, "%"), 64)
				if err != nil || v <= 0 || v > 100 || !all {
					return withCode(exitUsage, fmt.Errorf("--read-data-subset %q: want a percentage above 0%% up to 100%%, with --all", subset))
				}
				share = v / 100
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			repo, _, err := a.openRepoToRead(cmd, arg)
			if err != nil {
				return err
			}
			defer repo.Close()
			if all {
				return verifyAll(cmd, a, repo, share, asJSON)
			}
			a.job.archive(args[0])
			bars := a.bars("verifying", asJSON)
			rep, err := repo.VerifyWith(cmd.Context(), args[0], archive.VerifyOptions{Progress: diskBars(bars)})
			bars.Finish()
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
	cmd.Flags().BoolVar(&all, "all", false, "verify every archive and the dedup store")
	cmd.Flags().StringVar(&subset, "read-data-subset", "", "with --all: read only this share of the data, e.g. 10%")
	addRepoFlags(cmd, false)
	return cmd
}

// verifyAll runs verify --all.
func verifyAll(cmd *cobra.Command, a *app, repo *archive.Repo, share float64, asJSON bool) error {
	bars := a.bars("verifying", asJSON)
	rep, err := repo.VerifyAll(cmd.Context(), archive.VerifyAllOptions{ReadData: share, Progress: packBars(bars)})
	bars.Finish()
	if err != nil {
		return engineExit(err)
	}
	if asJSON {
		if err := a.printJSON(rep); err != nil {
			return withCode(exitFailure, err)
		}
	} else {
		for _, d := range rep.Damaged {
			where := "repository"
			switch {
			case d.Disk != "":
				where = fmt.Sprintf("archive %s disk %s bytes %d-%d", d.Archive, d.Disk, d.Offset, d.Offset+d.Length)
			case d.Archive != "":
				where = "archive " + d.Archive
			}
			fmt.Fprintf(a.stdout, "DAMAGED %s: %s\n", where, d.Problem)
		}
		if s := rep.Store; s != nil {
			for _, o := range s.Orphans {
				fmt.Fprintf(a.stdout, "note: pack %s is listed by no index file (a killed backup; prune removes it)\n", o)
			}
			for _, t := range s.TempFiles {
				fmt.Fprintf(a.stdout, "note: temporary file %s (a killed backup; prune removes it)\n", t)
			}
		}
	}
	if len(rep.Damaged) > 0 {
		return withCode(exitIntegrity, fmt.Errorf("%d damaged or missing piece(s) in %d archive(s) checked", len(rep.Damaged), rep.Archives))
	}
	if !asJSON {
		line := fmt.Sprintf("OK: %d archive(s)", rep.Archives)
		if rep.Mode == "pool" {
			line += fmt.Sprintf(", %d read completely", rep.ArchivesRead)
		}
		if s := rep.Store; s != nil {
			line += fmt.Sprintf("; store: %d pack(s), %d index file(s), %d chunk(s); %d pack(s) read (%s)", s.Packs, s.IndexFiles, s.Chunks, s.PacksRead, units.FormatBytes(s.BytesRead))
		}
		fmt.Fprintln(a.stdout, line)
	}
	return nil
}
