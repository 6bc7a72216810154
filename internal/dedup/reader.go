package dedup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/directio"
)

// BlobRef locates one stored chunk.
type BlobRef struct {
	File *container.FileReader
	Off  uint64
	CLen uint32
	PLen uint32
}

// Source finds the blob of a chunk; errors about unknown chunks wrap chunk.ErrMissing.
type Source interface {
	Locate(id chunk.ID) (BlobRef, error)
}

// Releaser is implemented by sources that want to know when a located blob
// has been read (so they may close its file).
type Releaser interface {
	Release(BlobRef)
}

func release(src Source, ref BlobRef) {
	if r, ok := src.(Releaser); ok {
		r.Release(ref)
	}
}

// Reader restores and checks runs. Safe for concurrent use.
type Reader struct {
	Codec       *codec.Codec
	IDKey       [32]byte
	Parallelism int
	// CheckProgress, if set, is told by Check the bytes of distinct chunks
	// checked so far and their total (calls are serialized).
	CheckProgress func(done, total int64)
}

// restoreBatch bounds the bytes a restore worker assembles before one write.
const restoreBatch = 4 << 20

// piece is one write of a restore: disk bytes [off, end), assembled from
// the chunk runs first..last (indices) that overlap it; gaps are zeros.
type piece struct {
	off, end    int64
	first, last int // chunk runs overlapping, inclusive; first > last: none
	gaps        bool
}

// pieces cuts the disk into writes: the chunks (and with writeHoles the
// holes) grouped into pieces of at most restoreBatch bytes whose offsets and
// lengths are multiples of align (except at the end of the disk, which
// need not be aligned); alignment padding and holes inside a piece are
// written as zeros.
func pieces(runs []chunk.Run, offs []int64, size int64, writeHoles bool, align int64, emit func(piece) bool) {
	if align < 1 {
		align = 1
	}
	down := func(x int64) int64 { return x / align * align }
	up := func(x int64) int64 { return min(size, (x+align-1)/align*align) }
	maxPiece := max(align, restoreBatch/align*align)
	i := 0
	for i < len(runs) {
		if runs[i].Hole && !writeHoles {
			i++
			continue
		}
		// A region: runs i..j to write, extended while the next run to
		// write starts before the aligned end of the region.
		start := down(offs[i])
		j := i
		end := up(offs[j] + runs[j].Len)
		for {
			k := j + 1
			for k < len(runs) && runs[k].Hole && !writeHoles {
				k++
			}
			if k >= len(runs) || (k != j+1 && offs[k] >= end) {
				break
			}
			j, end = k, up(offs[k]+runs[k].Len)
		}
		// Split the region [start, end) into pieces.
		r := i
		for off := start; off < end; {
			pend := min(end, down(off+maxPiece))
			if pend <= off {
				pend = min(end, off+maxPiece)
			}
			p := piece{off: off, end: pend, first: -1, last: -2}
			var covered int64
			for r <= j && offs[r]+runs[r].Len <= off {
				r++
			}
			for k := r; k <= j && offs[k] < pend; k++ {
				if runs[k].Hole {
					continue
				}
				if p.first < 0 {
					p.first = k
				}
				p.last = k
				covered += min(pend, offs[k]+runs[k].Len) - max(off, offs[k])
			}
			if p.first < 0 {
				p.first, p.last = 1, 0
			}
			p.gaps = covered != pend-off
			if !emit(p) {
				return
			}
			off = pend
		}
		i = j + 1
	}
}

// readState is one worker's scratch.
type readState struct {
	r          *Reader
	h          *chunk.IDHasher
	blob       []byte
	plain      []byte
	buf        []byte
	part       []byte // a chunk that overlaps a piece only partly
	span       []byte // blobs read at once
	refs       []pieceRef
	dbufs      [][]byte                // delta scratch per nesting level (deltaBuf)
	recent     [recentBases]recentBase // whole bases decoded last (baseOf)
	nextRecent int
	// recompute: recompute chunk ids even under an AEAD (verify)
	recompute bool
	bufCap    int64 // preferred buffer size
	align     int
}

func (r *Reader) newState() *readState {
	return &readState{r: r, h: chunk.NewIDHasher(r.IDKey)}
}

// growBuf replaces the piece buffer by one of n bytes: for direct writes
// (align > 1) a getDirect buffer (the old one given back), else Go memory.
func (s *readState) growBuf(n int64) {
	if s.align <= 1 || s.align > directio.HugePage {
		s.buf = directio.AlignedBuf(n, s.align)
		return
	}
	directio.Put(s.buf)
	s.buf = directio.Get(int(n))
}

// free gives back the state's direct buffers; the state is not used again.
func (s *readState) free() {
	directio.Put(s.buf)
	directio.Put(s.span)
	s.buf, s.span = nil, nil
}

// load reads, opens and checks one chunk into out (capacity >= run length).
func (s *readState) load(src Source, id chunk.ID, plen int64, out []byte) ([]byte, error) {
	ref, err := src.Locate(id)
	if err != nil {
		return nil, err
	}
	if int64(ref.PLen) != plen {
		return nil, fmt.Errorf("%w: chunk %s: index says %d bytes, manifest %d", chunk.ErrDamaged, id.Short(), ref.PLen, plen)
	}
	defer release(src, ref)
	s.blob, err = ref.File.ReadBlob(s.blob, ref.Off, ref.CLen)
	if err != nil {
		return nil, err
	}
	return s.open(ref.File, id, s.blob, plen, out)
}

// open opens and checks one blob of f into out.
func (s *readState) open(f *container.FileReader, id chunk.ID, blob []byte, plen int64, out []byte) ([]byte, error) {
	if f.Sealer() == nil {
		return nil, errors.New("file opened without key")
	}
	// The AEAD tag, with the chunk id as associated data, authenticates
	// the content under the master key; the id is recomputed when the
	// cipher is none (its tag is no secret) and always by Check.
	h := s.h
	if !s.recompute && f.Sealer().Name() != crypt.None {
		h = nil
	}
	chunk, plain, err := container.OpenBlob(s.r.Codec, f.Sealer(), h, id, blob, int(plen), s.plain, out[:0:plen])
	if cap(plain) > cap(s.plain) {
		s.plain = plain[:0]
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return chunk, nil
}

// Restore writes the runs of one disk to dst. Holes are written as zeros
// unless skipHoles. With align > 1 every write starts at a multiple of
// align and has a length that is one (except the last write of the disk)
// from a buffer aligned in memory: for targets opened with O_DIRECT. Every
// chunk is authenticated before it is written (AEAD tag bound to the chunk
// id; with cipher none, tag and recomputed id); the first problem stops
// the restore with an error naming the byte range.
// progress (serialized) gets bytes done so far.
func (r *Reader) Restore(ctx context.Context, runs []chunk.Run, src Source, dst io.WriterAt, skipHoles bool, align int, progress func(int64)) error {
	if align > 1 && (align&(align-1) != 0 || align > restoreBatch) {
		return fmt.Errorf("restore alignment %d: want a power of two up to %d", align, restoreBatch)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	par := max(1, r.Parallelism)
	ch := make(chan piece, par)
	var (
		mu       sync.Mutex
		firstErr error
		done     int64
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	offs := make([]int64, len(runs))
	var total int64
	for i, x := range runs {
		offs[i] = total
		total += x.Len
	}
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.newState()
			defer s.free()
			s.bufCap, s.align = min(total+int64(align), restoreBatch), align
			for p := range ch {
				if ctx.Err() != nil {
					continue
				}
				if err := s.restore(src, runs, offs, p, dst); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done += p.end - p.off
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	pieces(runs, offs, total, !skipHoles, int64(align), func(p piece) bool {
		select {
		case ch <- p:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// spanGap is the largest gap between blobs read with one read; spanMax
// bounds one read.
const (
	spanGap = 256 << 10
	spanMax = 16 << 20
)

// pieceRef is one chunk of a piece and where its blob is.
type pieceRef struct {
	k   int // run index
	ref BlobRef
}

func (s *readState) restore(src Source, runs []chunk.Run, offs []int64, p piece, dst io.WriterAt) error {
	n := p.end - p.off
	if int64(len(s.buf)) < n {
		s.growBuf(max(n, s.bufCap))
	}
	buf := s.buf[:n]
	if p.gaps {
		clear(buf)
	}
	rangeErr := func(k int, err error) error {
		return fmt.Errorf("disk bytes %d-%d: %w", offs[k], offs[k]+runs[k].Len, err)
	}
	refs := s.refs[:0]
	defer func() {
		for _, pr := range refs {
			release(src, pr.ref)
		}
	}()
	deltas := false
	for k := p.first; k <= p.last; k++ {
		r := runs[k]
		if r.Hole {
			continue
		}
		if r.Delta != nil {
			deltas = true
			continue
		}
		ref, err := src.Locate(r.ID)
		if err != nil {
			return rangeErr(k, err)
		}
		refs = append(refs, pieceRef{k, ref})
		if err := checkLen(ref, r); err != nil {
			return rangeErr(k, err)
		}
	}
	s.refs = refs
	// Read the blobs in spans: one read per run of nearby blobs of a file.
	err := forSpans(refs, spanMax, func(f *container.FileReader, start, end int64, group []pieceRef) error {
		data, span, err := f.ReadSpan(s.span, start, end-start)
		s.span = span
		if err != nil {
			return rangeErr(group[0].k, err)
		}
		for _, pr := range group {
			k, r := pr.k, runs[pr.k]
			blob := data[int64(pr.ref.Off)-start : int64(pr.ref.Off)-start+int64(pr.ref.CLen)]
			if err := s.place(buf, p, offs[k], r.Len, func(out []byte) ([]byte, error) {
				return s.open(f, r.ID, blob, r.Len, out)
			}); err != nil {
				return rangeErr(k, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if deltas {
		// Chunks stored as deltas: each rebuilt from its patch and bases.
		for k := p.first; k <= p.last; k++ {
			r := runs[k]
			if r.Hole || r.Delta == nil {
				continue
			}
			if err := s.place(buf, p, offs[k], r.Len, func(out []byte) ([]byte, error) {
				return s.loadRun(src, r.ID, r.Len, r.Delta, out)
			}); err != nil {
				return rangeErr(k, err)
			}
		}
	}
	if _, err := dst.WriteAt(buf, p.off); err != nil {
		return fmt.Errorf("write at %d: %w", p.off, err)
	}
	return nil
}

// place puts the chunk of n bytes at disk offset off into buf, the bytes
// of piece p: decoded in place when the piece holds all of it, else into
// s.part and the overlap copied.
func (s *readState) place(buf []byte, p piece, off, n int64, decode func(out []byte) ([]byte, error)) error {
	lo, hi := max(p.off, off), min(p.end, off+n)
	if lo == off && hi == off+n {
		_, err := decode(buf[lo-p.off : hi-p.off])
		return err
	}
	if int64(cap(s.part)) < n {
		s.part = make([]byte, n)
	}
	c, err := decode(s.part[:n])
	if err != nil {
		return err
	}
	copy(buf[lo-p.off:hi-p.off], c[lo-off:hi-off])
	return nil
}

// Problem is one damaged or missing chunk found by Check.
type Problem struct {
	Off, Len int64
	ID       chunk.ID
	Err      error
}

// Check reads, authenticates and re-hashes every distinct chunk of runs and
// returns the problems (one per affected run, in disk order), the number of
// chunk references and their total bytes.
func (r *Reader) Check(ctx context.Context, runs []chunk.Run, src Source) ([]Problem, int, int64, error) {
	type item struct {
		id    chunk.ID
		len   int64
		delta *chunk.Delta
	}
	seen := make(map[chunk.ID]struct{}, len(runs))
	var todo []item
	var refs int
	var bytes int64
	for _, x := range runs {
		if x.Hole {
			continue
		}
		refs++
		bytes += x.Len
		if _, ok := seen[x.ID]; ok {
			continue
		}
		seen[x.ID] = struct{}{}
		todo = append(todo, item{x.ID, x.Len, x.Delta})
	}
	var total int64
	for _, it := range todo {
		total += it.len
	}
	var checked int64 // under mu
	bad := make(map[chunk.ID]error)
	var mu sync.Mutex
	ch := make(chan item, 64)
	var wg sync.WaitGroup
	for range max(1, r.Parallelism) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.newState()
			s.recompute = true
			for it := range ch {
				if cap(s.buf) < int(it.len) {
					s.buf = make([]byte, it.len)
				}
				_, err := s.loadRun(src, it.id, it.len, it.delta, s.buf[:it.len])
				mu.Lock()
				if err != nil {
					bad[it.id] = err
				}
				checked += it.len
				if r.CheckProgress != nil {
					r.CheckProgress(checked, total)
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range todo {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, refs, bytes, err
	}
	var probs []Problem
	var off int64
	for _, x := range runs {
		if !x.Hole {
			if err, ok := bad[x.ID]; ok {
				probs = append(probs, Problem{Off: off, Len: x.Len, ID: x.ID, Err: err})
			}
		}
		off += x.Len
	}
	return probs, refs, bytes, nil
}
