package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/repoopen"
	"rb_module_rustack/internal/units"
)

func newCopyCmd(a *app) *cobra.Command {
	var from, to, fromKey, toKey string
	var vms []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "copy --from STORE --to STORE [ARCHIVE... | --vm VM]",
		Short: "copy archives from one dedup store to another (off-site), sending only the chunks the target lacks",
		Long: `Copies archives of the dedup store --from into the dedup store --to (each a
directory, swift://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX], reached with
the configuration's store_* and s3_* keys as --store is): the named
ARCHIVEs, the archives of --vm VM (name or id, repeatable), or all. The
chain parents of each are copied too, parents first. Archives the target
already holds are skipped; of the others only the chunks the target lacks
are sent.

Keys: --key-file (or master_key_file) is the key of both stores;
--from-key-file and --to-key-file override it for one side. With the same
key on both sides the chunks are moved by id (re-encrypted with the target
session's data key, not recompressed); with different keys every disk is
read and chunked again, as a new backup of the same VM would be, under the
target's key. A missing target store is created with the target's key; a
target store made with another key is an error (exit 4).

An interrupted copy is resumed by running it again: what it published is
found and not sent again; what it left half-written is garbage that prune
removes. Each archive is published at the target only after all its chunks
are there.

Exit codes: 0 done; 1 failed (I/O, a store that cannot be reached); 2 bad
flags, an unknown archive or VM, or a lock another process holds (named);
4 damaged source data or a wrong key; 5 interrupted.`,
		Example: `  rb_module_rustack copy --from /backup/store --to swift://offsite/rustack
  rb_module_rustack copy --from /backup/store --to s3://dr-bucket --vm web01 --to-key-file /opt/rubackup/keys/dr-key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return withCode(exitUsage, errors.New("give both --from STORE and --to STORE"))
			}
			if len(args) > 0 && len(vms) > 0 {
				return withCode(exitUsage, errors.New("give either ARCHIVE ids or --vm, not both"))
			}
			if cmd.Flags().Changed(flagStore) {
				return withCode(exitUsage, errors.New("copy takes --from and --to, not --store"))
			}
			rs, cfg, err := a.repoSettings(cmd, true)
			if err != nil {
				return err
			}
			side := func(loc, keyFile string, write bool) repoopen.Settings {
				s := rs
				s.Archive.Store = loc
				s.Write = write
				if keyFile != "" {
					s.KeyFile, s.ExplicitKey = keyFile, true
				}
				return s
			}
			src, err := repoopen.Open(side(from, fromKey, false))
			if err != nil {
				return repoOpenExit(fmt.Errorf("--from: %w", err))
			}
			defer src.Close()
			dst, err := repoopen.Open(side(to, toKey, true))
			if err != nil {
				return repoOpenExit(fmt.Errorf("--to: %w", err))
			}
			defer dst.Close()
			log := a.engineLog(cfg, "copy")
			defer log.Close()
			rep, err := dst.Copy(cmd.Context(), src, archive.CopyOptions{Archives: args, VMs: vms, Hook: copyHook(), Log: log.Infof})
			if err != nil {
				return retentionExit(fmt.Errorf("copy %s -> %s: %w", from, to, err)) // logged as ERROR by logFailure
			}
			log.Infof("copy %s -> %s (%s): %d archive(s) copied, %d skipped; %d chunk(s) sent (%s), %s written in %.1f s",
				from, to, rep.Mode, rep.ArchivesCopied, rep.ArchivesSkipped, rep.ChunksSent, units.FormatBytes(rep.ChunkBytes), units.FormatBytes(rep.BytesSent), rep.Seconds)
			if asJSON {
				return a.printJSON(rep)
			}
			how := "same key: chunks moved by id"
			if rep.Mode == archive.CopyRechunk {
				how = "different keys: disks re-chunked and re-encrypted"
			}
			fmt.Fprintf(a.stdout, "copy %s -> %s (%s)\n", from, to, how)
			for _, p := range rep.MissingParents {
				fmt.Fprintf(a.stdout, "note: parent %s is not in the source store (the archives naming it are complete without it)\n", p)
			}
			for _, c := range rep.Archives {
				if c.Status == "skipped" {
					fmt.Fprintf(a.stdout, "  skipped %s (already at the target)\n", c.ID)
					continue
				}
				fmt.Fprintf(a.stdout, "  copied  %s (%d chunk(s), %s sent)\n", c.ID, c.ChunksSent, units.FormatBytes(c.BytesSent))
			}
			fmt.Fprintf(a.stdout, "%d archive(s) copied, %d skipped; %d chunk(s) sent (%s of data), %s written in %.1f s\n",
				rep.ArchivesCopied, rep.ArchivesSkipped, rep.ChunksSent, units.FormatBytes(rep.ChunkBytes), units.FormatBytes(rep.BytesSent), rep.Seconds)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source dedup store: a directory, swift://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX]")
	f.StringVar(&to, "to", "", "target dedup store (created when missing)")
	f.StringArrayVar(&vms, "vm", nil, "copy the archives of this VM, by name or id (repeatable)")
	f.StringVar(&fromKey, "from-key-file", "", "master key file of the source store (default: --key-file)")
	f.StringVar(&toKey, "to-key-file", "", "master key file of the target store (default: --key-file)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	addRepoFlags(cmd, true)
	_ = f.MarkHidden(flagStore)
	return cmd
}

// copyHook is the fault hook of the tests: RB_TEST_COPY_KILL_AT=N kills
// the process with SIGKILL right after the N-th object it puts into the
// target; RB_TEST_COPY_INTERRUPT_AT=N sends it SIGINT there instead (as
// Ctrl-C would), once.
func copyHook() func(string) {
	if h := testKillHook("RB_TEST_COPY_KILL_AT"); h != nil {
		return h
	}
	n, err := strconv.Atoi(os.Getenv("RB_TEST_COPY_INTERRUPT_AT"))
	if err != nil || n <= 0 {
		return nil
	}
	var count atomic.Int64
	return func(string) {
		if count.Add(1) == int64(n) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
		}
	}
}
