package directio

import (
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Reader reads a disk (a block device or an image file) that is read once
// from start to end, as a backup reads it: a range the page cache does not
// hold is read with O_DIRECT, straight into the caller's buffer, and the
// rest through the page cache. A backup's disks are usually cold (a volume
// attached a moment ago from a snapshot): read through the page cache,
// every byte is copied once more by the kernel and fills a page that is
// never read again, pushing out pages the proxy's other work uses. On the
// bench machine, first backups with the page cache dropped before them
// (five pairs each): sys time 0.29-0.42 s instead of 0.46-0.63 s on the
// synthetic 2 GiB image, 0.42-0.53 s instead of 0.81-1.47 s on the ext4
// image, wall time 4 % less, and none of the image left in the cache
// (docs/benchmarks.md). A disk whose bytes are cached (an image file just
// written or read) is still read from the cache.
//
// A read goes direct only when its offset, length and buffer are aligned
// to Align (the pipeline's reads of whole blocks into Get buffers are;
// the last, partial block of a disk may not be). Where O_DIRECT is refused
// (a file system without it, or a read the device rejects with EINVAL)
// every read goes through the page cache. Safe for concurrent use.
type Reader struct {
	f       *os.File
	direct  *os.File // O_DIRECT descriptor of the same file, nil when refused
	refused atomic.Bool
}

// OpenDirect opens the file at path read-only with O_DIRECT: a second
// descriptor of a file read past the page cache. A file system without
// O_DIRECT refuses it.
func OpenDirect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
}

// openDirect opens a second, O_DIRECT descriptor of f (a variable for
// tests: a file system that refuses O_DIRECT).
var openDirect = func(f *os.File) (*os.File, error) { return OpenDirect(f.Name()) }

// OpenReader opens the file or device at path read-only.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return NewReader(f), nil
}

// NewReader reads f, which the Reader then owns (Close closes it).
func NewReader(f *os.File) *Reader {
	r := &Reader{f: f}
	if d, err := openDirect(f); err == nil {
		r.direct = d
	}
	return r
}

// File is the file read (for lseek SEEK_DATA/SEEK_HOLE and fstat).
func (r *Reader) File() *os.File { return r.f }

// Direct reports whether reads may go past the page cache.
func (r *Reader) Direct() bool { return r.direct != nil && !r.refused.Load() }

// ReadAt reads len(b) bytes at off, as os.File.ReadAt does.
func (r *Reader) ReadAt(b []byte, off int64) (int, error) {
	if r.Direct() && aligned(b, off) && !Cached(r.f, off, int64(len(b))) {
		n, err := r.direct.ReadAt(b, off)
		if !errors.Is(err, unix.EINVAL) {
			return n, err
		}
		// The device wants another alignment, or the file system
		// refuses direct reads it accepted at open: from now on, the
		// page cache.
		r.refused.Store(true)
	}
	return r.f.ReadAt(b, off)
}

// Seek seeks the file (Seek(0, io.SeekEnd) gives a device's size).
func (r *Reader) Seek(off int64, whence int) (int64, error) { return r.f.Seek(off, whence) }

// Close closes both descriptors.
func (r *Reader) Close() error {
	if r.direct != nil {
		r.direct.Close()
	}
	return r.f.Close()
}

func aligned(b []byte, off int64) bool {
	return len(b) > 0 && off%Align == 0 && len(b)%Align == 0 && bufAddr(b)%Align == 0
}

// Cached reports whether the page cache holds every page of [off, off+n)
// of f, asking the kernel without reading anything (cachestat, Linux 6.5).
// A probing read (RWF_NOWAIT) would not do: on a miss it starts readahead
// of the range, which the O_DIRECT read then reads a second time. Where
// cachestat is missing or refused the answer is no: a direct read is
// always correct.
func Cached(f interface{ Fd() uintptr }, off, n int64) bool {
	if n <= 0 {
		return false
	}
	rng := unix.CachestatRange{Off: uint64(off), Len: uint64(n)}
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &rng, &cs, 0); err != nil {
		return false
	}
	page := int64(os.Getpagesize())
	pages := (off+n+page-1)/page - off/page
	return int64(cs.Cache) >= pages
}
