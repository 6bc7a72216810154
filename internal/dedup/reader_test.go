package dedup

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/enginetest"
)

// randomRuns makes runs of chunks and holes of random, partly unaligned sizes.
func randomRuns(r *mrand.Rand, n int) []chunk.Run {
	var runs []chunk.Run
	for range n {
		if r.IntN(3) == 0 {
			l := int64(1 + r.IntN(restoreBatch+restoreBatch/2))
			if r.IntN(2) == 0 {
				l = int64(r.IntN(40)+1) * 4096
			}
			if len(runs) > 0 && runs[len(runs)-1].Hole {
				runs[len(runs)-1].Len += l
				continue
			}
			runs = append(runs, chunk.Run{Len: l, Hole: true})
			continue
		}
		l := int64(1 + r.IntN(300<<10))
		if r.IntN(5) == 0 {
			l = int64(1 + r.IntN(5000))
		}
		var id chunk.ID
		id[0], id[1], id[2] = byte(len(runs)), byte(len(runs)>>8), 1
		runs = append(runs, chunk.Run{Len: l, ID: id})
	}
	return runs
}

func TestPiecesCoverAndAlign(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 6))
	for iter := range 400 {
		runs := randomRuns(r, 1+r.IntN(60))
		offs := make([]int64, len(runs))
		var size int64
		for i, x := range runs {
			offs[i] = size
			size += x.Len
		}
		align := []int64{1, 512, 4096}[iter%3]
		writeHoles := iter%2 == 0
		var ps [][2]int64
		var prevEnd int64
		pieces(runs, offs, size, writeHoles, align, func(p piece) bool {
			if p.off < prevEnd || p.end <= p.off || p.end > size {
				t.Fatalf("iter %d: piece [%d,%d) after %d, size %d", iter, p.off, p.end, prevEnd, size)
			}
			if p.off%align != 0 || (p.end%align != 0 && p.end != size) || p.end-p.off > restoreBatch {
				t.Fatalf("iter %d: piece [%d,%d) not aligned to %d or too long", iter, p.off, p.end, align)
			}
			prevEnd = p.end
			ps = append(ps, [2]int64{p.off, p.end})
			return true
		})
		// written reports how many bytes of [a, b) the pieces cover.
		written := func(a, b int64) int64 {
			var n int64
			for _, p := range ps {
				n += max(0, min(b, p[1])-max(a, p[0]))
			}
			return n
		}
		for i, x := range runs {
			a, b := offs[i], offs[i]+x.Len
			switch {
			case !x.Hole || writeHoles:
				if written(a, b) != x.Len {
					t.Fatalf("iter %d: run %d (hole %v) [%d,%d) not fully written", iter, i, x.Hole, a, b)
				}
			case b-a > 2*align:
				// Hole bytes are written only as alignment padding.
				if written(a+align, b-align) != 0 {
					t.Fatalf("iter %d: hole run %d written", iter, i)
				}
			}
		}
	}
}

// alignedWriter checks the alignment of every write.
type alignedWriter struct {
	t     *testing.T
	mu    sync.Mutex
	buf   []byte
	align int64
}

func (w *alignedWriter) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := off+int64(len(p)) == int64(len(w.buf))
	if off%w.align != 0 || (int64(len(p))%w.align != 0 && !last) || uintptr(unsafe.Pointer(&p[0]))%uintptr(w.align) != 0 {
		w.t.Errorf("unaligned write of %d bytes at %d", len(p), off)
	}
	return copy(w.buf[off:], p), nil
}

func TestRestoreAligned(t *testing.T) {
	enginetest.CheckDirectReturned(t)
	c := enginetest.Chunker(t, 1<<10, 4<<10, 16<<10)
	codec := enginetest.Codec(t, "zstd", "", c.Max(), 2)
	for _, size := range []int{1, 4095, 4096, 3<<20 + 7, 9 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			img := testImage(uint64(size)+3, size)
			tgt := newMemTarget(t)
			p, _ := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2, SegmentSize: 2 << 20, BlockSize: 512 << 10}, tgt)
			runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(size), nil)
			p.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, skip := range []bool{true, false} {
				w := &alignedWriter{t: t, buf: make([]byte, size), align: 4096}
				if !skip {
					rand.Read(w.buf)
				}
				rd := &Reader{Codec: codec, Parallelism: 3}
				if err := rd.Restore(context.Background(), runs, memSource{tgt}, w, skip, 4096, nil); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(w.buf, img) {
					t.Fatalf("skipHoles %v: restored data differs", skip)
				}
			}
		})
	}
}

// countCloser counts the open files down when closed, and remembers it.
type countCloser struct {
	bytesAt
	open   *int
	closed *bool
}

func (c countCloser) Close() error { *c.open--; *c.closed = true; return nil }

func TestIndexSourceBoundsOpenFiles(t *testing.T) {
	var entries []chunk.IndexEntry
	for i := range 100 {
		entries = append(entries, chunk.IndexEntry{ID: chunk.ID{byte(i), 1}, Pack: uint32(i), CLen: 1, PLen: 1})
	}
	open := 0
	closed := map[*container.FileReader]*bool{}
	src := NewIndexSource(chunk.NewIndex(entries), func(i uint32) (*container.FileReader, error) {
		open++
		c := new(bool)
		f := container.NewBlobReader(fmt.Sprint(i), countCloser{bytesAt{}, &open, c}, 0, nil)
		closed[f] = c
		return f, nil
	}, nil)
	src.MaxOpen = 10
	pinned, err := src.Locate(chunk.ID{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		ref, err := src.Locate(chunk.ID{byte(i), 1})
		if err != nil {
			t.Fatal(err)
		}
		src.Release(ref)
		if open > 11 {
			t.Fatalf("%d files open, max 10 (+1 pinned)", open)
		}
	}
	if _, ok := src.files[0]; !ok || *closed[pinned.File] {
		t.Fatal("a file in use was closed")
	}
	src.Release(pinned)
	src.Close()
	if open != 0 {
		t.Fatalf("%d files left open", open)
	}
}
