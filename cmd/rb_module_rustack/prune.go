package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/units"
)

func newPruneCmd(a *app) *cobra.Command {
	var dryRun, asJSON bool
	var maxUnused string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "prune [--max-unused P%] [--dry-run]",
		Short: "free space: chunks no archive references, and what killed backups left behind",
		Long: `Frees space in the archive pool and the dedup store:

  - temporary files of backups that were killed (in the pool and the store);
  - store mode: every chunk that no archive of any pool writing to the store
    references (the store keeps a copy of every archive's manifest, so pools
    on other proxies count); packs whose unused share exceeds --max-unused
    are rewritten with their used chunks, packs with none are deleted.

Prune holds the exclusive locks of the pool and the store: backups hold them
shared, so prune waits (up to --lock-wait, the lock_wait key) until running
backups finish, and backups that start meanwhile wait for it. Killed at any
point, it leaves every kept archive restorable; the next prune finishes the
job (docs/retention.md).

Exit codes: 0 done; 1 failed (I/O, a damaged store: nothing referenced was
removed); 2 bad flags, or a lock another process holds (named); 5 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, cfg, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			mu, err := maxUnusedFrom(cmd, maxUnused, cfg)
			if err != nil {
				return err
			}
			log := a.engineLog(cfg, "prune")
			defer log.Close()
			bars := a.bars("pruning", asJSON)
			o := archive.PruneOptions{MaxUnused: mu, DryRun: dryRun, TempGrace: grace, Progress: packBars(bars), Hook: pruneHook()}
			rep, err := repo.Prune(cmd.Context(), o)
			bars.Finish()
			if err != nil {
				return retentionExit(err) // logged as ERROR by logFailure
			}
			logPrune(log, rep)
			if asJSON {
				return a.printJSON(rep)
			}
			printPrune(a.stdout, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&maxUnused, "max-unused", "", "share of a pack that may be unused before it is rewritten, e.g. 10% (default: prune_max_unused, 10%)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be freed, change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().DurationVar(&grace, "temp-grace", 0, "leave temporary files younger than this (for writers of versions that take no locks)")
	addRepoFlags(cmd, false)
	return cmd
}

// maxUnusedFrom reads --max-unused ("10%", "10" or "0.1"), else the
// configuration's prune_max_unused percent.
func maxUnusedFrom(cmd *cobra.Command, s string, cfg *config.Config) (float64, error) {
	if s == "" {
		return float64(cfg.PruneMaxUnused) / 100, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, withCode(exitUsage, fmt.Errorf("--max-unused %q: want a percentage from 0%% to 100%%, e.g. 10%%", s))
	}
	return v / 100, nil
}

// pruneHook is the crash-test hook: with RB_TEST_PRUNE_KILL_AT=N in the
// environment the process kills itself with SIGKILL right after prune's
// N-th change (a file removed or published). Tests use it to prove that
// a prune killed anywhere loses nothing.
func pruneHook() func(string) { return testKillHook("RB_TEST_PRUNE_KILL_AT") }

// testKillHook is a crash-test hook: with env=N in the environment the
// process kills itself with SIGKILL right after the N-th event (prune:
// RB_TEST_PRUNE_KILL_AT, copy: RB_TEST_COPY_KILL_AT).
func testKillHook(env string) func(string) {
	n, err := strconv.Atoi(os.Getenv(env))
	if err != nil || n <= 0 {
		return nil
	}
	count := 0
	return func(event string) {
		count++
		if count >= n {
			fmt.Fprintf(os.Stderr, "%s=%d: killing myself after %q\n", env, n, event)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}

func logPrune(log *logging.Logger, r *archive.PruneReport) {
	log.Infof("prune%s: %s freed; pool: %d temporary file(s)%s", dryNote(r.DryRun), units.FormatBytes(r.BytesFreed), r.PoolTempFiles, storeLine(r))
}

func storeLine(r *archive.PruneReport) string {
	s := r.Store
	if s == nil {
		return ""
	}
	return fmt.Sprintf("; store: %d archive(s) counted, %d of %d chunk(s) unused, packs %d deleted, %d rewritten of %d, index files %d written, %d deleted, %d temporary file(s), %s -> %s",
		r.Archives, s.ChunksRemoved, s.Chunks, s.PacksDeleted, s.PacksRewritten, s.Packs, s.IndexFilesWritten, s.IndexFilesDeleted,
		s.TempFilesRemoved, units.FormatBytes(s.BytesBefore), units.FormatBytes(s.BytesAfter))
}

// printPrune prints a prune report.
func printPrune(w io.Writer, r *archive.PruneReport) {
	verb := "freed"
	if r.DryRun {
		verb = "would free"
	}
	fmt.Fprintf(w, "pool: %d temporary file(s) of killed backups (%s)\n", r.PoolTempFiles, units.FormatBytes(r.PoolTempBytes))
	if s := r.Store; s != nil {
		fmt.Fprintf(w, "store: %d archive(s) reference %d of %d chunk(s); packs: %d deleted, %d rewritten, %d in all; index files: %d written, %d deleted; %d temporary file(s)\n",
			r.Archives, s.ChunksUsed, s.Chunks, s.PacksDeleted, s.PacksRewritten, s.Packs, s.IndexFilesWritten, s.IndexFilesDeleted, s.TempFilesRemoved)
		fmt.Fprintf(w, "store size: %s -> %s (%s written)\n", units.FormatBytes(s.BytesBefore), units.FormatBytes(s.BytesAfter), units.FormatBytes(s.BytesWritten))
	}
	fmt.Fprintf(w, "%s %s\n", verb, units.FormatBytes(r.BytesFreed))
}
