package dedup

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunker"
)

// mapper lets a worker chunk the blocks of a file or block device that the
// page cache already holds where they lie, through a read-only mapping,
// instead of copying them into its read buffer: an unchanged re-backup of a
// cached image spends about a tenth of its CPU time on that copy (and
// another tenth clearing the holes of the buffer). A block is mapped only
// when the kernel says (cachestat, Linux 6.5) that every page of its data
// is cached, so a cold source, the usual case of a freshly attached
// snapshot volume, is read as before with large preads, and a kernel
// without cachestat never maps anything. The mapping is populated
// (MADV_POPULATE_READ) by the goroutine that would otherwise read the
// block, so the page table work overlaps the chunking of the block before,
// and a source that fails there (an I/O error, a shrunk file) falls back to
// the read, which reports the error.
type mapper struct {
	fd     int
	sparse bool  // a regular file: SEEK_DATA / SEEK_HOLE tell its holes
	page   int64 // the page size
}

// newMapper returns a mapper for src, or nil when src is neither a regular
// file nor a block device or the kernel has no cachestat.
func newMapper(src io.ReaderAt) *mapper {
	f, ok := src.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	m := &mapper{fd: int(f.Fd()), page: int64(os.Getpagesize())}
	switch mode := st.Mode(); {
	case mode.IsRegular():
		m.sparse = true
	case mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0:
	default:
		return nil
	}
	// Without cachestat nothing can be known to be cached: read it all.
	var cs unix.Cachestat_t
	if unix.Cachestat(uint(m.fd), &unix.CachestatRange{Off: 0, Len: uint64(m.page)}, &cs, 0) != nil {
		return nil
	}
	return m
}

// mapped is a read-only mapping of the source bytes [start, start+len(mem)).
type mapped struct {
	mem   []byte
	start int64
}

// window returns the source bytes [from, to), which must lie in the mapping.
func (m *mapped) window(from, to int64) []byte { return m.mem[from-m.start : to-m.start] }

// unmap releases the mapping; nil is a no-op. No slice of it may be used
// afterwards.
func (m *mapped) unmap() {
	if m != nil {
		_ = unix.Munmap(m.mem)
	}
}

// tryMap maps the source bytes [lo, off+n) (lo <= off: the bytes in front
// are there for the data carried from the block before) when every data
// page of [off, off+n) is in the page cache. It returns the mapping and the
// holes of [off, off+n) (offsets from off, ascending, appended to
// holes[:0]), or nil when the block must be read. A hole is never touched
// by the mapper; the worker does not read the holes it is told about.
func (m *mapper) tryMap(lo, off int64, n int, holes []chunker.Span) (*mapped, []chunker.Span) {
	holes = holes[:0]
	end := off + int64(n)
	var data [][2]int64 // data ranges of [off, end)
	if m.sparse {
		for pos := off; pos < end; {
			d, err := unix.Seek(m.fd, pos, unix.SEEK_DATA)
			switch {
			case errors.Is(err, unix.ENXIO):
				d = end
			case err != nil:
				return nil, holes
			}
			d = min(max(d, pos), end)
			if d > pos {
				holes = append(holes, chunker.Span{Start: int(pos - off), End: int(d - off)})
			}
			if d == end {
				break
			}
			e, err := unix.Seek(m.fd, d, unix.SEEK_HOLE)
			if err != nil || e <= d {
				e = end
			}
			e = min(e, end)
			data = append(data, [2]int64{d, e})
			pos = e
		}
	} else {
		data = append(data, [2]int64{off, end})
	}
	down := func(x int64) int64 { return x &^ (m.page - 1) }
	up := func(x int64) int64 { return down(x + m.page - 1) }
	for _, r := range data {
		var cs unix.Cachestat_t
		rng := unix.CachestatRange{Off: uint64(r[0]), Len: uint64(r[1] - r[0])}
		if err := unix.Cachestat(uint(m.fd), &rng, &cs, 0); err != nil {
			return nil, holes
		}
		if int64(cs.Cache) < (up(r[1])-down(r[0]))/m.page {
			return nil, holes
		}
	}
	start := down(lo)
	mem, err := unix.Mmap(m.fd, start, int(end-start), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, holes
	}
	mp := &mapped{mem: mem, start: start}
	for _, r := range data {
		if err := unix.Madvise(mem[down(r[0])-start:r[1]-start], unix.MADV_POPULATE_READ); err != nil {
			mp.unmap()
			return nil, holes
		}
	}
	return mp, holes
}
