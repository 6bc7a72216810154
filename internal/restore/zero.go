package restore

import (
	"bytes"
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
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
	f        *os.File
	plain    bool        // never use fallocate
	disabled atomic.Bool // fallocate is not supported here
	zeroed   atomic.Int64
	page     []byte // zeros, read only once made (newDeviceWriter)
}

func newDeviceWriter(f *os.File, plain bool) *deviceWriter {
	return &deviceWriter{f: f, plain: plain, page: make([]byte, zeroAlign)}
}

func (w *deviceWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.plain || len(p) < minZeroRange || w.disabled.Load() {
		return w.f.WriteAt(p, off)
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
				if n, err := w.f.WriteAt(p[done:i], off+int64(done)); err != nil {
					return done + n, err
				}
			}
			done = j
		}
		i = j
	}
	if done < len(p) {
		n, err := w.f.WriteAt(p[done:], off+int64(done))
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
