package dedup

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// holeProbe tells whether a byte range of a source is known to read as
// zeros without reading it: for sparse regular files it asks the file
// system (lseek SEEK_DATA). A range it reports is processed exactly as if
// its zeros had been read, so chunking does not depend on sparseness.
type holeProbe struct {
	fd int
}

// newHoleProbe returns a probe for src, or nil when src is not a regular file.
func newHoleProbe(src io.ReaderAt) *holeProbe {
	f, ok := src.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	return &holeProbe{fd: int(f.Fd())}
}

// isHole reports whether [off, off+n) holds no data. Errors mean "unknown"
// (false). lseek moves the shared file offset, which pread ignores.
func (h *holeProbe) isHole(off, n int64) bool {
	if h == nil {
		return false
	}
	d, err := unix.Seek(h.fd, off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return true // no data at or after off
	}
	if err != nil {
		return false
	}
	return d >= off+n
}
