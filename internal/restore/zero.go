package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/directio"
)

// minZeroRange is the smallest all-zero write handed to the kernel as a
// zeroed range instead of being written.
const minZeroRange = 64 << 10

// zeroAlign is the alignment a zeroed range needs (a block device refuses a
// range not aligned to its logical block size; 4 KiB covers every disk).
const zeroAlign = 4096

// deviceWriter writes a disk into a device. Inside every write, each run of
// all-zero, 4 KiB-aligned blocks of at least 64 KiB becomes
// fallocate(FALLOC_FL_ZERO_RANGE) instead of a write (the engine hands over
// large pieces that mix data and holes). On a block device the kernel zeroes
// the range (WRITE ZEROES when the device offers it, zero pages otherwise); on
// a file system the range becomes unwritten extents. Either way it reads as
// zeros afterwards, which is the guarantee writing zeros gives, without moving
// the zeros through the page cache. When the target does not support it
// (EOPNOTSUPP, ENOSYS, ENODEV) or refuses one range, the zeros are written.
type deviceWriter struct {
	f        *os.File    // the device, for fallocate
	out      io.WriterAt // where the bytes go: f itself, or an imageWriter over it
	plain    bool        // never use fallocate
	disabled atomic.Bool // fallocate is not supported here
	zeroed   atomic.Int64
	page     []byte // zeros, read only once made (newDeviceWriter)
}

func newDeviceWriter(f *os.File, out io.WriterAt, plain bool) *deviceWriter {
	return &deviceWriter{f: f, out: out, plain: plain, page: make([]byte, zeroAlign)}
}

func (w *deviceWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.plain || len(p) < minZeroRange || w.disabled.Load() {
		return w.out.WriteAt(p, off)
	}
	done := 0 // p[:done] is written
	// i walks the blocks aligned on the device (not in p).
	i := int((zeroAlign - off%zeroAlign) % zeroAlign)
	for i+zeroAlign <= len(p) {
		if !bytes.Equal(p[i:i+zeroAlign], w.page) {
			i += zeroAlign
			continue
		}
		j := i + zeroAlign
		for j+zeroAlign <= len(p) && bytes.Equal(p[j:j+zeroAlign], w.page) {
			j += zeroAlign
		}
		if j-i >= minZeroRange && w.zero(off+int64(i), int64(j-i)) {
			if i > done {
				if n, err := w.out.WriteAt(p[done:i], off+int64(done)); err != nil {
					return done + n, err
				}
			}
			done = j
		}
		i = j
	}
	if done < len(p) {
		n, err := w.out.WriteAt(p[done:], off+int64(done))
		return done + n, err
	}
	return len(p), nil
}

// zero asks the kernel to zero [off, off+n); false: write the zeros instead.
func (w *deviceWriter) zero(off, n int64) bool {
	if w.disabled.Load() {
		return false
	}
	err := unix.Fallocate(int(w.f.Fd()), unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		w.zeroed.Add(n)
		return true
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENODEV) {
		w.disabled.Store(true)
	}
	return false
}

// openDirect opens a device for O_DIRECT writes (a variable for tests: a
// device that refuses O_DIRECT).
var openDirect = func(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT, 0)
}

// DiskSource writes one disk of a manifest's chain into dst.
// *archive.Repo satisfies it.
type DiskSource interface {
	RestoreDisk(ctx context.Context, m *archive.Manifest, label string, dst io.WriterAt, o archive.RestoreOptions) error
}

// DeviceOptions shape how WriteDevice writes.
type DeviceOptions struct {
	// SkipHoles leaves the archive's holes unwritten: only for a target
	// that reads as zeros.
	SkipHoles bool
	// PlainZeroWrites writes zeros as bytes even where the kernel could
	// zero the range.
	PlainZeroWrites bool
	// Progress is called with the bytes written so far and the disk's
	// size, first with 0 and last with the size.
	Progress func(done, total int64)
}

// WriteDevice writes disk d of the manifest's chain into the device (or
// existing file) at path and flushes it; it returns the bytes the kernel
// zeroed instead of writing. The device is opened write-only without
// O_TRUNC: a disk cannot be truncated, and a regular-file device (test
// harness) must keep its size.
func WriteDevice(ctx context.Context, src DiskSource, m *archive.Manifest, d Disk, path string, o DeviceOptions) (int64, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(int64, int64) {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open the device of disk %s: %w", d.Label, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of device %s: %w", path, err)
	}
	if size < d.Bytes {
		return 0, fmt.Errorf("device %s holds %d bytes, less than the %d bytes of disk %s", path, size, d.Bytes, d.Label)
	}
	total := d.Bytes
	ro := archive.RestoreOptions{SkipHoles: o.SkipHoles, Progress: func(n int64) { progress(n, total) }}
	// Aligned pieces go around the page cache (O_DIRECT): a restore does not
	// evict the proxy's cache, and the device is written while the pieces
	// are decoded, flushed in the background. Where O_DIRECT cannot be had,
	// the page cache's write-back is started as the disk is written.
	iw := &imageWriter{f: f}
	if df, err := openDirect(path); err == nil {
		iw.direct, iw.sync = df, directio.NewSyncer(f, 0)
		ro.Align = directAlign
	} else {
		iw.sync = directio.NewWriteback(f, 0)
	}
	dw := newDeviceWriter(f, iw, o.PlainZeroWrites)
	progress(0, total)
	err = src.RestoreDisk(ctx, m, d.Label, dw, ro)
	if cerr := iw.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write disk %s to %s: %w", d.Label, path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("flush disk %s to %s: %w", d.Label, path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", path, err)
	}
	progress(total, total)
	return dw.zeroed.Load(), nil
}
