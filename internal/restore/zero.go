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

// deviceWriter writes a disk into a device. An all-zero write of at least
// 64 KiB becomes fallocate(FALLOC_FL_ZERO_RANGE): on a block device the
// kernel zeroes the range (WRITE ZEROES when the device offers it, zero pages
// otherwise), on a file system the range becomes unwritten extents; either
// way it reads as zeros afterwards, which is the guarantee writing zeros
// gives, without moving the zeros through the page cache. When the target
// does not support it (EOPNOTSUPP, ENOSYS, ENODEV) or refuses one range, the
// zeros are written as usual.
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
	if !w.plain && len(p) >= minZeroRange && off%zeroAlign == 0 && len(p)%zeroAlign == 0 &&
		!w.disabled.Load() && w.allZero(p) {
		err := unix.Fallocate(int(w.f.Fd()), unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, int64(len(p)))
		if err == nil {
			w.zeroed.Add(int64(len(p)))
			return len(p), nil
		}
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENODEV) {
			w.disabled.Store(true)
		}
	}
	return w.f.WriteAt(p, off)
}

// allZero reports whether b holds only zero bytes, comparing it with a
// zero page (the runtime's vectorized comparison).
func (w *deviceWriter) allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(w.page))
		if !bytes.Equal(b[:n], w.page[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
