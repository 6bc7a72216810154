package dedup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrMissing is wrapped by errors about chunks that no index knows.
var ErrMissing = errors.New("chunk missing")

// BlobRef locates one stored chunk.
type BlobRef struct {
	File *FileReader
	Off  uint64
	CLen uint32
	PLen uint32
}

// Source finds the blob of a chunk; errors about unknown chunks wrap ErrMissing.
type Source interface {
	Locate(id ID) (BlobRef, error)
}

// Reader restores and checks runs. Safe for concurrent use.
type Reader struct {
	Codec       *Codec
	IDKey       [32]byte
	Parallelism int
}

// restoreBatch bounds the bytes a restore worker assembles before one write.
const restoreBatch = 4 << 20

type batch struct {
	off  int64 // disk offset
	runs []Run // consecutive chunks, or a single hole
	size int64
}

// batches groups runs into write batches: consecutive chunks up to
// restoreBatch bytes (a larger chunk alone), holes split into restoreBatch
// pieces (only when writeHoles).
func batches(runs []Run, writeHoles bool, emit func(batch) bool) {
	var off int64
	var cur batch
	flush := func() bool {
		if len(cur.runs) == 0 {
			return true
		}
		ok := emit(cur)
		cur = batch{}
		return ok
	}
	for i := range runs {
		r := runs[i]
		if r.Hole {
			if !flush() {
				return
			}
			if writeHoles {
				for o := int64(0); o < r.Len; o += restoreBatch {
					n := min(restoreBatch, r.Len-o)
					if !emit(batch{off: off + o, runs: []Run{{Len: n, Hole: true}}, size: n}) {
						return
					}
				}
			}
			off += r.Len
			continue
		}
		if len(cur.runs) > 0 && cur.size+r.Len > restoreBatch {
			if !flush() {
				return
			}
		}
		if len(cur.runs) == 0 {
			cur.off = off
		}
		cur.runs = append(cur.runs, r)
		cur.size += r.Len
		off += r.Len
	}
	flush()
}

// readState is one worker's scratch.
type readState struct {
	r      *Reader
	h      *IDHasher
	blob   []byte
	plain  []byte
	buf    []byte
	zeroes []byte
	bufCap int64 // preferred buffer size
}

func (r *Reader) newState() *readState {
	return &readState{r: r, h: NewIDHasher(r.IDKey)}
}

// load reads, opens and checks one chunk into out (capacity >= run length).
func (s *readState) load(src Source, id ID, plen int64, out []byte) ([]byte, error) {
	ref, err := src.Locate(id)
	if err != nil {
		return nil, err
	}
	if int64(ref.PLen) != plen {
		return nil, fmt.Errorf("%w: chunk %s: index says %d bytes, manifest %d", ErrDamaged, id.Short(), ref.PLen, plen)
	}
	s.blob, err = ref.File.ReadBlob(s.blob, ref.Off, ref.CLen)
	if err != nil {
		return nil, err
	}
	if ref.File.Sealer() == nil {
		return nil, errors.New("file opened without key")
	}
	chunk, plain, err := s.r.Codec.OpenChunk(ref.File.Sealer(), s.h, id, s.blob, int(plen), s.plain, out[:0:plen])
	if cap(plain) > cap(s.plain) {
		s.plain = plain[:0]
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.File.Path, err)
	}
	return chunk, nil
}

// Restore writes the runs of one disk to dst. Holes are written as zeros
// unless skipHoles. Every chunk is authenticated and its id recomputed
// before it is written; the first problem stops the restore with an error
// naming the byte range. progress (serialized) gets bytes done so far.
func (r *Reader) Restore(ctx context.Context, runs []Run, src Source, dst io.WriterAt, skipHoles bool, progress func(int64)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	par := max(1, r.Parallelism)
	ch := make(chan batch, par)
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
	var total int64
	for _, x := range runs {
		total += x.Len
	}
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.newState()
			s.bufCap = min(total, restoreBatch)
			for b := range ch {
				if ctx.Err() != nil {
					continue
				}
				if err := s.restore(src, b, dst); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done += b.size
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	batches(runs, !skipHoles, func(b batch) bool {
		select {
		case ch <- b:
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

func (s *readState) restore(src Source, b batch, dst io.WriterAt) error {
	var buf []byte
	if len(b.runs) == 1 && b.runs[0].Hole {
		if len(s.zeroes) < int(b.size) {
			s.zeroes = make([]byte, max(b.size, s.bufCap))
		}
		buf = s.zeroes[:b.size]
	} else {
		if cap(s.buf) < int(b.size) {
			s.buf = make([]byte, max(b.size, s.bufCap))
		}
		buf = s.buf[:b.size]
		var p int64
		for _, r := range b.runs {
			if _, err := s.load(src, r.ID, r.Len, buf[p:p+r.Len]); err != nil {
				return fmt.Errorf("disk bytes %d-%d: %w", b.off+p, b.off+p+r.Len, err)
			}
			p += r.Len
		}
	}
	if _, err := dst.WriteAt(buf, b.off); err != nil {
		return fmt.Errorf("write at %d: %w", b.off, err)
	}
	return nil
}

// Problem is one damaged or missing chunk found by Check.
type Problem struct {
	Off, Len int64
	ID       ID
	Err      error
}

// Check reads, authenticates and re-hashes every distinct chunk of runs and
// returns the problems (one per affected run, in disk order), the number of
// chunk references and their total bytes.
func (r *Reader) Check(ctx context.Context, runs []Run, src Source) ([]Problem, int, int64, error) {
	type item struct {
		id  ID
		len int64
	}
	seen := make(map[ID]struct{}, len(runs))
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
		todo = append(todo, item{x.ID, x.Len})
	}
	bad := make(map[ID]error)
	var mu sync.Mutex
	ch := make(chan item, 64)
	var wg sync.WaitGroup
	for range max(1, r.Parallelism) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.newState()
			for it := range ch {
				if cap(s.buf) < int(it.len) {
					s.buf = make([]byte, it.len)
				}
				if _, err := s.load(src, it.id, it.len, s.buf[:it.len]); err != nil {
					mu.Lock()
					bad[it.id] = err
					mu.Unlock()
				}
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
