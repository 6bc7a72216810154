package restore

import (
	"context"
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

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/directio"
)

// DirOptions describe a restore into a local directory.
type DirOptions struct {
	Dir    string   // created if missing (and removed again if the restore fails)
	Disks  []string // labels to restore; empty = all
	Force  bool     // overwrite existing files
	NoSync bool     // do not fsync the restored files
	// Started is when the job started (Seconds counts from it); zero = now.
	Started time.Time
	// Written is called after each disk is written; an error stops the
	// restore and is returned.
	Written func(ImageFile) error
	// Progress, if set, is told the bytes of a disk written so far and its
	// size (the holes, which are not written, count once the disk is done).
	Progress func(label string, done, size int64)
}

// ImageFile is one restored disk image.
type ImageFile struct {
	Label string `json:"label"`
	Path  string `json:"path"`
	Size  int64  `json:"size"`
}

// DirResult describes a restore into a directory.
type DirResult struct {
	Archive string      `json:"archive"`
	Type    string      `json:"type"`
	Chain   []string    `json:"chain"`
	VMJSON  string      `json:"vm_json"`
	Disks   []ImageFile `json:"disks"`
	Seconds float64     `json:"seconds"`
}

// ToDir restores the manifest's chain into o.Dir: <label>.img for every disk
// (or those of o.Disks) as a sparse file, holes left as holes, and vm.json
// with the VM description. A failure leaves no half-written file, and no
// empty directory of its own making.
func ToDir(ctx context.Context, src DiskSource, m *archive.Manifest, o DirOptions) (res *DirResult, err error) {
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	if _, serr := os.Stat(o.Dir); errors.Is(serr, fs.ErrNotExist) {
		// os.Remove keeps the directory when a complete image is in it.
		defer func() {
			if err != nil {
				os.Remove(o.Dir)
			}
		}()
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("--to-dir: %w", err)
	}
	res = &DirResult{Archive: m.ID, Type: string(m.Type), Chain: m.Chain, VMJSON: filepath.Join(o.Dir, "vm.json")}
	for _, d := range m.Disks {
		if len(o.Disks) > 0 && !slices.Contains(o.Disks, d.Label) {
			continue
		}
		p := filepath.Join(o.Dir, d.Label+".img")
		if err := restoreImage(ctx, src, m, d, p, &o); err != nil {
			return nil, err
		}
		img := ImageFile{Label: d.Label, Path: p, Size: d.Size}
		res.Disks = append(res.Disks, img)
		if o.Written != nil {
			if err := o.Written(img); err != nil {
				return nil, err
			}
		}
	}
	vm := m.VM
	if len(vm) == 0 {
		vm = json.RawMessage("null")
	}
	if err := writeFileSync(res.VMJSON, vm, o.Force, !o.NoSync); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(o.Started).Seconds()
	return res, nil
}

// restoreImage writes one disk as a sparse file; on failure the partial
// file is removed.
func restoreImage(ctx context.Context, src DiskSource, m *archive.Manifest, d archive.Disk, p string, o *DirOptions) error {
	f, err := create(p, os.O_RDWR, o.Force)
	if err != nil {
		return err
	}
	w := &imageWriter{f: f}
	if !o.NoSync {
		w.sync = directio.NewSyncer(f, 0)
	}
	fail := func(err error) error {
		w.close()
		f.Close()
		os.Remove(p)
		return err
	}
	if err := f.Truncate(d.Size); err != nil {
		return fail(fmt.Errorf("size %s: %w", p, err))
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
	if o.Progress != nil {
		o.Progress(d.Label, 0, d.Size)
		ro.Progress = func(n int64) { o.Progress(d.Label, n, d.Size) }
	}
	if w.direct != nil {
		ro.Align = directAlign
	}
	if err := src.RestoreDisk(ctx, m, d.Label, w, ro); err != nil {
		return fail(err)
	}
	if o.Progress != nil {
		o.Progress(d.Label, d.Size, d.Size) // the holes skipped count too
	}
	if err := w.close(); err != nil {
		return fail(fmt.Errorf("write %s: %w", p, err))
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("sync %s: %w", p, err))
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return err
	}
	return nil
}

// create makes a new file (mode os.O_RDWR or os.O_WRONLY); an existing
// one is an error unless force, which truncates it.
func create(p string, mode int, force bool) (*os.File, error) {
	flags := mode | os.O_CREATE | os.O_EXCL
	if force {
		flags = mode | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(p, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s already exists: remove it, choose another --to-dir, or pass --force", p)
	}
	return f, err
}

// writeFileSync writes a new file whole (fsynced when sync); on failure
// the file is removed.
func writeFileSync(p string, b []byte, force, sync bool) error {
	f, err := create(p, os.O_WRONLY, force)
	if err != nil {
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

// imageWriter writes aligned pieces (of an image or a volume) through an
// O_DIRECT descriptor and the rest (the unaligned end of a disk) through
// the page cache. If the file system refuses a direct write, it falls back
// to the page cache.
type imageWriter struct {
	f        *os.File
	direct   *os.File
	noDirect atomic.Bool
	sync     *directio.Syncer // nil: no syncs (--no-sync)
}

func (w *imageWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.direct != nil && !w.noDirect.Load() && off%directAlign == 0 && len(p)%directAlign == 0 &&
		len(p) > 0 && uintptr(unsafe.Pointer(&p[0]))%directAlign == 0 {
		n, err := w.direct.WriteAt(p, off)
		if err == nil || !errors.Is(err, unix.EINVAL) || n != 0 {
			w.sync.Wrote(n)
			return n, err
		}
		w.noDirect.Store(true)
	}
	n, err := w.f.WriteAt(p, off)
	w.sync.Wrote(n)
	return n, err
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

// close waits for the background syncs (their first error) and closes
// the direct descriptor.
func (w *imageWriter) close() error {
	err := w.sync.Wait()
	w.sync = nil
	if w.direct == nil {
		return err
	}
	if cerr := w.direct.Close(); err == nil {
		err = cerr
	}
	w.direct = nil
	return err
}
