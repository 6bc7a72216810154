package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/fileget"
	"rb_module_rustack/internal/mount"
)

type filesOpts struct {
	disk      string
	partition int
	to        string
	asJSON    bool
}

func newFilesCmd(a *app) *cobra.Command {
	var o filesOpts
	cmd := &cobra.Command{
		Use:   "files ARCHIVE (ls PATH | get PATH... --to DIR) --disk LABEL [--partition N]",
		Short: "list or copy single files out of a backup's ext2/3/4 file system, without restoring the disk",
		Long: `Reads one file system of a disk of ARCHIVE (any point of a chain, pool or
dedup store) through the same read path as mount, without restoring the
disk: only the chunks the file system's metadata and the files need are
read.

  ls PATH          lists directory PATH (name, mode, owner, size; --json)
  get PATH... --to DIR
                   copies each file or directory (recursively) into DIR
                   as DIR/<name>, with its mode, owner and times

--disk names the disk (its label); --partition N the partition of a
partitioned disk (as sfdisk numbers them), without it the whole disk is the
file system. Only ext2, ext3 and ext4 are read (with e2fsprogs' debugfs,
from the disk image served for the command's duration on a private FUSE
mount that is removed when it ends); for other file systems use mount and
a loop device.

Exit codes: 0 done; 1 failure; 2 bad arguments (no such disk, partition or
path, no ext2/3/4 file system there, no FUSE); 4 a wrong master key or
damaged data.`,
		Example: `  rb_module_rustack files web1-20250101T020000.000Z-incremental-9f8e7d --disk vda --partition 1 ls /etc/nginx
  rb_module_rustack files web1-20250101T020000.000Z-incremental-9f8e7d --disk vda --partition 1 get /etc/nginx/site.conf --to /root/restored`,
		Args: cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.disk == "" {
				return withCode(exitUsage, errors.New("give the disk with --disk LABEL"))
			}
			verb, paths := args[1], args[2:]
			switch verb {
			case "ls":
				if len(paths) != 1 {
					return withCode(exitUsage, errors.New("ls takes one PATH"))
				}
				if o.to != "" {
					return withCode(exitUsage, errors.New("--to goes with get"))
				}
			case "get":
				if o.to == "" {
					return withCode(exitUsage, errors.New("get needs --to DIR"))
				}
			default:
				return withCode(exitUsage, fmt.Errorf("unknown action %q: want ls or get", verb))
			}
			return runFiles(cmd, a, args[0], verb, paths, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.disk, "disk", "", "the disk's label (required)")
	f.IntVar(&o.partition, "partition", 0, "partition number (default: the whole disk holds the file system)")
	f.StringVar(&o.to, "to", "", "get: directory to copy into (created if missing)")
	f.BoolVar(&o.asJSON, "json", false, "print a machine-readable result on stdout")
	addRepoFlags(cmd, false)
	return cmd
}

func runFiles(cmd *cobra.Command, a *app, archiveArg, verb string, paths []string, o *filesOpts) error {
	ctx := cmd.Context()
	if o.partition < 0 {
		return withCode(exitUsage, fmt.Errorf("--partition %d: want 1 or more", o.partition))
	}
	tmp, err := os.MkdirTemp("", mount.FilesDirPrefix)
	if err != nil {
		return withCode(exitFailure, err)
	}
	defer os.Remove(tmp)
	if err := mount.Check(tmp); err != nil {
		return mountExit(err)
	}
	repo, _, m, ir, err := a.openArchiveImage(cmd, archiveArg, dedup.DefaultCacheBytes)
	if err != nil {
		return err
	}
	defer repo.Close()
	defer ir.Close()
	di, err := ir.Disk(o.disk)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--disk %s: %w", o.disk, err))
	}
	var mu sync.Mutex
	var firstReadErr error
	readErr := func() error { mu.Lock(); defer mu.Unlock(); return firstReadErr }
	srv, err := mount.Mount(tmp, mount.Options{Source: m.ID, Created: m.Created,
		Files: []mount.File{{Name: o.disk + ".img", Size: di.Size(), Data: di}},
		ReadError: func(file string, off, n int64, err error) {
			mu.Lock()
			defer mu.Unlock()
			if firstReadErr == nil {
				firstReadErr = fmt.Errorf("%s bytes %d-%d: %w", file, off, off+n, err)
			}
		}})
	if err != nil {
		return mountExit(err)
	}
	defer func() {
		if uerr := srv.Unmount(); uerr != nil {
			fmt.Fprintf(a.stderr, "warning: %v: run umount -l %s\n", uerr, tmp)
		}
	}()
	img := filepath.Join(tmp, o.disk+".img")
	var off int64
	if o.partition > 0 {
		if off, err = fileget.PartitionOffset(ctx, img, o.partition); err != nil {
			return filesExit(err, readErr())
		}
	}
	switch verb {
	case "ls":
		es, err := fileget.List(ctx, img, off, paths[0])
		if err != nil {
			return filesExit(err, readErr())
		}
		if o.asJSON {
			if es == nil {
				es = []fileget.Entry{}
			}
			return a.printJSON(es)
		}
		for _, e := range es {
			fmt.Fprintf(a.stdout, "%-7s %6s %5d %5d %12d  %s\n", e.Type, e.Mode, e.UID, e.GID, e.Size, e.Name)
		}
		return nil
	}
	if err := os.MkdirAll(o.to, 0o750); err != nil {
		return withCode(exitFailure, fmt.Errorf("--to: %w", err))
	}
	abs, err := filepath.Abs(o.to)
	if err != nil {
		return withCode(exitFailure, err)
	}
	got, err := fileget.Get(ctx, img, off, paths, abs)
	if err != nil {
		return filesExit(err, readErr())
	}
	if readErr() != nil {
		// debugfs goes on past a failed read: what it wrote is not whole.
		return filesExit(errors.New("the disk could not be read whole"), readErr())
	}
	if o.asJSON {
		return a.printJSON(map[string]any{"archive": m.ID, "disk": o.disk, "partition": o.partition, "written": got})
	}
	for _, p := range got {
		fmt.Fprintln(a.stdout, p)
	}
	return nil
}

// filesExit maps a files failure to an exit code; a failed read of the
// archive underneath wins (it is the cause).
func filesExit(err, readErr error) error {
	if readErr != nil {
		return engineExit(fmt.Errorf("%v: reading the archive: %w", err, readErr))
	}
	if errors.Is(err, fileget.ErrNotFound) || errors.Is(err, fileget.ErrNoFS) || errors.Is(err, fileget.ErrBadArg) {
		return withCode(exitUsage, err)
	}
	return withCode(exitFailure, err)
}
