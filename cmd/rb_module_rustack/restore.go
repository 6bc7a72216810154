package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/archive"
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
				return runRestoreCloud(cmd, a, args[0], &co)
			}
			if o.toDir == "" {
				return withCode(exitUsage, errors.New("give --to-dir DIR (local restore), --deploy (new VM) or --volume-only --disk LABEL (one volume)"))
			}
			return runRestoreLocal(cmd, a, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.toDir, "to-dir", "", "write <label>.img per disk (sparse) and vm.json into this directory")
	f.StringArrayVar(&o.disks, "disk", nil, "restore only this disk label (repeatable; default all)")
	f.BoolVar(&o.force, "force", false, "--to-dir: overwrite existing image files")
	f.BoolVar(&o.noSync, "no-sync", false, "--to-dir: do not fsync the restored files")
	f.BoolVar(&o.asJSON, "json", false, "print a machine-readable result on stdout")
	addRepoFlags(cmd, false)
	addRestoreCloudFlags(cmd, &co)
	return cmd
}

type restoredDisk struct {
	Label string `json:"label"`
	Path  string `json:"path"`
	Size  int64  `json:"size"`
}

type restoreResult struct {
	Archive string         `json:"archive"`
	Type    string         `json:"type"`
	Chain   []string       `json:"chain"`
	VMJSON  string         `json:"vm_json"`
	Disks   []restoredDisk `json:"disks"`
	Seconds float64        `json:"seconds"`
}

func runRestoreLocal(cmd *cobra.Command, a *app, archiveArg string, o *restoreLocalOpts) (err error) {
	repo, _, err := a.openRepo(cmd, false)
	if err != nil {
		return err
	}
	defer repo.Close()
	ctx := cmd.Context()
	t0 := time.Now()
	m, err := repo.Load(ctx, archiveArg)
	if err != nil {
		return engineExit(err)
	}
	for _, l := range o.disks {
		if !slices.ContainsFunc(m.Disks, func(d archive.Disk) bool { return d.Label == l }) {
			return withCode(exitUsage, fmt.Errorf("--disk %s: archive %s has no such disk", l, m.ID))
		}
	}
	if _, serr := os.Stat(o.toDir); errors.Is(serr, fs.ErrNotExist) {
		// A failed restore leaves no empty directory of its own making
		// (os.Remove keeps it when a complete image is in it).
		defer func() {
			if err != nil {
				os.Remove(o.toDir)
			}
		}()
	}
	if err := os.MkdirAll(o.toDir, 0o750); err != nil {
		return withCode(exitFailure, fmt.Errorf("--to-dir: %w", err))
	}
	res := restoreResult{Archive: m.ID, Type: string(m.Type), Chain: m.Chain, VMJSON: filepath.Join(o.toDir, "vm.json")}
	for _, d := range m.Disks {
		if len(o.disks) > 0 && !slices.Contains(o.disks, d.Label) {
			continue
		}
		p := filepath.Join(o.toDir, d.Label+".img")
		if err := restoreImage(cmd, repo, m, d, p, o); err != nil {
			return err
		}
		res.Disks = append(res.Disks, restoredDisk{Label: d.Label, Path: p, Size: d.Size})
		if !o.asJSON {
			fmt.Fprintf(a.stdout, "disk %s: %s (%s)\n", d.Label, p, units.FormatBytes(d.Size))
		}
	}
	vm := m.VM
	if len(vm) == 0 {
		vm = json.RawMessage("null")
	}
	if err := writeFileSync(res.VMJSON, vm, o.force, !o.noSync); err != nil {
		return engineExit(err)
	}
	res.Seconds = time.Since(t0).Seconds()
	if o.asJSON {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.stdout, "vm description: %s\n", res.VMJSON)
	fmt.Fprintf(a.stdout, "restored %s (%s, chain of %d) in %s\n", m.ID, m.Type, len(m.Chain), time.Since(t0).Round(time.Millisecond))
	return nil
}

// restoreImage writes one disk as a sparse file; on failure the partial
// file is removed.
func restoreImage(cmd *cobra.Command, repo *archive.Repo, m *archive.Manifest, d archive.Disk, p string, o *restoreLocalOpts) error {
	flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if o.force {
		flags = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(p, flags, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return withCode(exitFailure, fmt.Errorf("%s already exists: remove it, choose another --to-dir, or pass --force", p))
		}
		return withCode(exitFailure, err)
	}
	w := &imageWriter{f: f}
	fail := func(err error) error {
		w.close()
		f.Close()
		os.Remove(p)
		return err
	}
	if err := f.Truncate(d.Size); err != nil {
		return fail(engineExit(fmt.Errorf("size %s: %w", p, err)))
	}
	// Aligned writes bypass the page cache (O_DIRECT) where the file system
	// allows it: faster here and it does not evict the cache.
	if df, err := os.OpenFile(p, os.O_WRONLY|unix.O_DIRECT, 0); err == nil {
		w.direct = df
		// Allocating the data ranges first lets the direct writes run in
		// parallel as overwrites; the holes stay holes.
		if ext, err := m.DataExtents(d.Label); err == nil {
			preallocate(f, ext, d.Size)
		}
	}
	ro := archive.RestoreOptions{SkipHoles: true}
	if w.direct != nil {
		ro.Align = directAlign
	}
	if err := repo.RestoreDisk(cmd.Context(), m, d.Label, w, ro); err != nil {
		return fail(engineExit(err))
	}
	if err := w.close(); err != nil {
		return fail(engineExit(fmt.Errorf("write %s: %w", p, err)))
	}
	if !o.noSync {
		if err := f.Sync(); err != nil {
			return fail(engineExit(fmt.Errorf("sync %s: %w", p, err)))
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return engineExit(err)
	}
	return nil
}

func writeFileSync(p string, b []byte, force, sync bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(p, flags, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: remove it, choose another --to-dir, or pass --force", p)
		}
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(p) // no half-written file
		return err
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return err
	}
	return nil
}

// directAlign is the alignment of O_DIRECT writes (the logical block size
// of any common device is at most this).
const directAlign = 4096

// imageWriter writes aligned pieces through an O_DIRECT descriptor and the
// rest (the unaligned end of a disk) through the page cache. If the file
// system refuses a direct write, it falls back to the page cache.
type imageWriter struct {
	f        *os.File
	direct   *os.File
	noDirect atomic.Bool
}

func (w *imageWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.direct != nil && !w.noDirect.Load() && off%directAlign == 0 && len(p)%directAlign == 0 &&
		len(p) > 0 && uintptr(unsafe.Pointer(&p[0]))%directAlign == 0 {
		n, err := w.direct.WriteAt(p, off)
		if err == nil || !errors.Is(err, unix.EINVAL) || n != 0 {
			return n, err
		}
		w.noDirect.Store(true)
	}
	return w.f.WriteAt(p, off)
}

// preallocate allocates the data extents of a new image (best effort: some
// file systems cannot).
func preallocate(f *os.File, ext []archive.Extent, size int64) {
	fd := int(f.Fd())
	for _, e := range ext {
		lo := e.Off / directAlign * directAlign
		hi := min(size, (e.Off+e.Len+directAlign-1)/directAlign*directAlign)
		if err := unix.Fallocate(fd, 0, lo, hi-lo); err != nil {
			return
		}
	}
}

func (w *imageWriter) close() error {
	if w.direct == nil {
		return nil
	}
	err := w.direct.Close()
	w.direct = nil
	return err
}
