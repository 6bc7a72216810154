package chunker

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// HoleProbe reads sparse regular files without reading their holes: it
// asks the file system where the data is (lseek SEEK_DATA / SEEK_HOLE) and
// clears the rest. The bytes are the same, so chunking does not depend on
// sparseness; only the cost does. lseek moves the shared file offset, which
// pread ignores.
type HoleProbe struct {
	fd    int
	edges bool // clear only the edges of each hole (ClearEdgesOnly)
}

// FileReader is a reader of a file that names the file (directio.Reader,
// which reads it past the page cache where it is cold).
type FileReader interface {
	io.ReaderAt
	File() *os.File
}

// SkipCounter is implemented by a reader that counts the bytes read
// through it (a disk's progress): Read tells it the length of each hole it
// clears instead of reading, so that its count still reaches the disk's
// size.
type SkipCounter interface {
	Skipped(n int64)
}

// FileOf returns the file src reads: src itself, the file a FileReader
// names, or nil.
func FileOf(src io.ReaderAt) *os.File {
	switch f := src.(type) {
	case *os.File:
		return f
	case FileReader:
		return f.File()
	}
	return nil
}

// NewHoleProbe returns a probe for src, or nil when src is not a regular
// file (an *os.File, or a FileReader of one).
func NewHoleProbe(src io.ReaderAt) *HoleProbe {
	f := FileOf(src)
	if f == nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	return &HoleProbe{fd: int(f.Fd())}
}

// ClearEdgesOnly makes Read clear only the edges of each hole it reports:
// its first HoleMin bytes and its last, partial ZeroBlock (counted from the
// start of buf); the rest keeps whatever buf held. Clearing a hole of a
// reused buffer costs as much as copying data: an unchanged re-backup of a
// half-empty image spent about 8 % of its CPU time on it. Only a caller
// that never reads past those edges may ask for it; dedup's worker is one:
// it takes the ZeroBlocks inside a reported hole as zeros without reading
// them, and it reads the bytes of a zero run only until the run is HoleMin
// long (then it is a hole), so of a reported hole it can read its first
// HoleMin bytes, and a ZeroBlock straddling its end where the file
// system's blocks are smaller than ZeroBlock.
func (h *HoleProbe) ClearEdgesOnly() { h.edges = true }

// clearHole clears buf[a:b], a hole of the file.
func (h *HoleProbe) clearHole(buf []byte, a, b int) {
	if !h.edges || b-a <= HoleMin+ZeroBlock {
		clear(buf[a:b])
		return
	}
	clear(buf[a : a+HoleMin])
	clear(buf[max(a+HoleMin, b/ZeroBlock*ZeroBlock):b])
}

// Span is a byte range [Start, End) of a buffer.
type Span struct{ Start, End int }

// Read fills buf with the bytes at off, reading only the data extents of
// the file and clearing the holes in between (reading a hole would fill
// page cache pages with zeros just to copy them). It appends the cleared
// ranges (offsets into buf, ascending) to holes[:0] and returns them: the
// zero detection need not look at those bytes again.
func (h *HoleProbe) Read(src io.ReaderAt, buf []byte, off int64, holes []Span) ([]Span, error) {
	holes = holes[:0]
	end := off + int64(len(buf))
	pos := off
	for pos < end {
		d, err := unix.Seek(h.fd, pos, unix.SEEK_DATA)
		switch {
		case errors.Is(err, unix.ENXIO):
			d = end // no data after pos
		case err != nil:
			return holes, readFull(src, buf[pos-off:], pos) // no hole information: read it all
		}
		d = min(max(d, pos), end)
		if d > pos {
			h.clearHole(buf, int(pos-off), int(d-off))
			holes = append(holes, Span{int(pos - off), int(d - off)})
			if sc, ok := src.(SkipCounter); ok {
				sc.Skipped(d - pos)
			}
		}
		if d == end {
			break
		}
		e, err := unix.Seek(h.fd, d, unix.SEEK_HOLE)
		if err != nil || e <= d {
			e = end
		}
		e = min(e, end)
		if err := readFull(src, buf[d-off:e-off], d); err != nil {
			return holes, err
		}
		pos = e
	}
	return holes, nil
}

// readFull reads len(b) bytes at off.
func readFull(src io.ReaderAt, b []byte, off int64) error {
	n, err := src.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = fmt.Errorf("read at %d: the disk ended early (got %d of %d bytes): %w", off, n, len(b), io.ErrUnexpectedEOF)
	}
	return err
}
