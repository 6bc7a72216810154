package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/restore"
	"rb_module_rustack/internal/units"
)

type restoreLocalOpts struct {
	toDir  string
	disks  []string
	force  bool
	noSync bool
	asJSON bool
}

func newRestoreCmd(a *app) *cobra.Command {
	var o restoreLocalOpts
	var co restoreCloudOpts
	cmd := &cobra.Command{
		Use:   "restore ARCHIVE (--to-dir DIR | --deploy | --volume-only --disk LABEL)",
		Short: "restore an archive to a local directory or into the cloud",
		Long: `Restores an archive (an id from the pool or a path to an archive file) of
any chain: full, incremental or differential. Every chunk is authenticated
before it is written; damaged or missing data stops the restore with exit
code 4 (a wrong master key too).

--to-dir DIR writes DIR/<label>.img for every disk as a sparse file (holes
stay holes) and DIR/vm.json with the VM description. The chain's other
archives are looked for next to ARCHIVE, then in the pool.`,
		Example: `  rb_module_rustack restore web1-20250101T020000.000Z-full-1a2b3c --pool /backup --key-file /tmp/k --to-dir /restore/web1
  rb_module_rustack restore /tape/web1-20250101T020000.000Z-incremental-9f8e7d.rba --to-dir /restore/web1 --disk vda`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if co.wanted() {
				if o.toDir != "" {
					return withCode(exitUsage, errors.New("--to-dir restores locally; it does not go with --deploy or --volume-only"))
				}
				a.job.archive(args[0])
				return runRestoreCloud(cmd, a, args[0], &co)
			}
			if o.toDir == "" {
				return withCode(exitUsage, errors.New("give --to-dir DIR (local restore), --deploy (new VM) or --volume-only --disk LABEL (one volume)"))
			}
			return runRestoreLocal(cmd, a, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.toDir, "to-dir", "X", "", "write <label>.img per disk (sparse) and vm.json into this directory, without deploying (-X: the platform's spelling)")
	f.StringArrayVar(&o.disks, "disk", nil, "restore only this disk label (repeatable; default all)")
	f.BoolVar(&o.force, "force", false, "--to-dir: overwrite existing image files")
	f.BoolVar(&o.noSync, "no-sync", false, "--to-dir: do not fsync the restored files")
	f.BoolVar(&o.asJSON, "json", false, "print a machine-readable result on stdout")
	addRepoFlags(cmd, false)
	addRestoreCloudFlags(cmd, &co)
	return cmd
}

func runRestoreLocal(cmd *cobra.Command, a *app, archiveArg string, o *restoreLocalOpts) error {
	repo, cfg, err := a.openRepoToRead(cmd, archiveArg)
	if err != nil {
		return err
	}
	defer repo.Close()
	ctx := cmd.Context()
	t0 := time.Now()
	a.job.archive(archiveArg)
	m, err := repo.Load(ctx, archiveArg)
	if err != nil {
		return engineExit(err)
	}
	a.job.vm(m.VMID, m.VMName)
	for _, l := range o.disks {
		if !slices.ContainsFunc(m.Disks, func(d archive.Disk) bool { return d.Label == l }) {
			return withCode(exitUsage, fmt.Errorf("--disk %s: archive %s has no such disk", l, m.ID))
		}
	}
	pool := cfg.Pool
	if cmd.Flags().Changed(flagPool) {
		pool, _ = cmd.Flags().GetString(flagPool)
	}
	if sameFileSystem(pool, o.toDir) {
		fmt.Fprintf(a.stderr, "warning: the restore target %s is on the same file system as the archive pool %s: the restored images (up to %s) take the space the backups need, and a failure of that disk loses both; restore to another file system if you can\n",
			o.toDir, pool, units.FormatBytes(restoreSize(m, o.disks)))
	}
	bars := a.bars("writing", o.asJSON)
	defer bars.Finish()
	res, err := restore.ToDir(ctx, repo, m, restore.DirOptions{
		Dir: o.toDir, Disks: o.disks, Force: o.force, NoSync: o.noSync, Started: t0, Progress: diskBars(bars),
		Written: func(d restore.ImageFile) error {
			if !o.asJSON {
				fmt.Fprintf(a.stdout, "disk %s: %s (%s)\n", d.Label, d.Path, units.FormatBytes(d.Size))
			}
			return nil
		},
	})
	bars.Finish()
	if err != nil {
		return engineExit(err)
	}
	if o.asJSON {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.stdout, "vm description: %s\n", res.VMJSON)
	fmt.Fprintf(a.stdout, "restored %s (%s, chain of %d) in %s\n", m.ID, m.Type, len(m.Chain), time.Since(t0).Round(time.Millisecond))
	return nil
}

// restoreSize is the logical size of the disks a restore writes (all when
// labels is empty).
func restoreSize(m *archive.Manifest, labels []string) int64 {
	var n int64
	for _, d := range m.Disks {
		if len(labels) == 0 || slices.Contains(labels, d.Label) {
			n += d.Size
		}
	}
	return n
}

// sameFileSystem reports whether dir (or, while it does not exist, its
// nearest existing parent) is on the file system of pool.
func sameFileSystem(pool, dir string) bool {
	var ps, ds syscall.Stat_t
	if pool == "" || syscall.Stat(pool, &ps) != nil {
		return false
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for syscall.Stat(d, &ds) != nil {
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
	return ps.Dev == ds.Dev
}
