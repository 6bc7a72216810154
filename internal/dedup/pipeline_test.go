package dedup

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

// memTarget keeps blobs in memory.
type memTarget struct {
	mu     sync.Mutex
	sealer *crypt.Sealer
	blobs  map[chunk.ID][]byte
	plens  map[chunk.ID]int
	order  []chunk.ID // in the order of Put
	claims *chunk.ClaimSet
}

func newMemTarget(t testing.TB) *memTarget {
	var k [32]byte
	k[3] = 7
	s, err := crypt.NewSealer(crypt.AES256GCM, k)
	if err != nil {
		t.Fatal(err)
	}
	return &memTarget{sealer: s, blobs: map[chunk.ID][]byte{}, plens: map[chunk.ID]int{}, claims: chunk.NewClaimSet()}
}

func (m *memTarget) Claim(id chunk.ID) bool { return m.claims.Claim(id) }
func (m *memTarget) Sealer() *crypt.Sealer  { return m.sealer }
func (m *memTarget) Put(id chunk.ID, b []byte, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = append([]byte(nil), b...)
	m.plens[id] = n
	m.order = append(m.order, id)
	return nil
}

// reference computes the runs of data the simple way: whole buffer, block
// by block, segment by segment.
func reference(c *chunker.Chunker, h *chunk.IDHasher, data []byte, seg int) []chunk.Run {
	var runs []chunk.Run
	add := func(r chunk.Run) {
		if r.Hole && len(runs) > 0 && runs[len(runs)-1].Hole {
			runs[len(runs)-1].Len += r.Len
			return
		}
		runs = append(runs, r)
	}
	z := chunker.NewZeroChecker()
	for s := 0; s < len(data); s += seg {
		d := data[s:min(s+seg, len(data))]
		// Classify blocks; zero runs >= chunker.HoleMin become holes.
		type span struct {
			off, n int
			hole   bool
		}
		var spans []span
		i := 0
		for i < len(d) {
			j := i
			for j < len(d) && z.IsZero(d[j:min(j+chunker.ZeroBlock, len(d))]) {
				j = min(j+chunker.ZeroBlock, len(d))
			}
			if j-i >= chunker.HoleMin {
				spans = append(spans, span{i, j - i, true})
				i = j
				continue
			}
			// data up to the next hole
			k := j
			for k < len(d) {
				if z.IsZero(d[k:min(k+chunker.ZeroBlock, len(d))]) {
					e := k
					for e < len(d) && z.IsZero(d[e:min(e+chunker.ZeroBlock, len(d))]) {
						e = min(e+chunker.ZeroBlock, len(d))
					}
					if e-k >= chunker.HoleMin {
						break
					}
					k = e
					continue
				}
				k = min(k+chunker.ZeroBlock, len(d))
			}
			spans = append(spans, span{i, k - i, false})
			i = k
		}
		for _, sp := range spans {
			if sp.hole {
				add(chunk.Run{Len: int64(sp.n), Hole: true})
				continue
			}
			b := d[sp.off : sp.off+sp.n]
			for len(b) > 0 {
				n := c.Cut(b)
				add(chunk.Run{Len: int64(n), ID: h.Sum(b[:n])})
				b = b[n:]
			}
		}
	}
	return runs
}

// testImage mixes zero runs of many lengths (around chunker.HoleMin), random data
// and text, with an odd size.
func testImage(seed uint64, size int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 1))
	img := make([]byte, size)
	off := 0
	for off < size {
		n := min(size-off, 1+r.IntN(300<<10))
		switch r.IntN(4) {
		case 0: // zeros, sometimes just around chunker.HoleMin
			if r.IntN(2) == 0 {
				n = min(size-off, chunker.HoleMin-chunker.ZeroBlock+r.IntN(3*chunker.ZeroBlock))
			}
		case 1:
			rand.Read(img[off : off+n])
		case 2:
			for i := off; i < off+n; i++ {
				img[i] = "abcdefgh ij\n"[r.IntN(12)]
			}
		case 3: // sparse bytes in zeros
			for i := off; i < off+n; i += 1 + r.IntN(20000) {
				img[i] = byte(r.Uint32())
			}
		}
		off += n
	}
	return img
}

type bytesAt struct{ b []byte }

func (x bytesAt) ReadAt(p []byte, off int64) (int, error) {
	if off > int64(len(x.b)) {
		return 0, errors.New("offset past end")
	}
	n := copy(p, x.b[off:])
	if n < len(p) {
		return n, fmt.Errorf("short read at %d", off)
	}
	return n, nil
}

func TestPipelineMatchesReference(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 2)
	for _, tc := range []struct {
		size       int
		seg, block int
		par        int
	}{
		{0, 1 << 20, 256 << 10, 2},
		{1, 1 << 20, 256 << 10, 1},
		{5<<20 + 4097, 1 << 20, 128 << 10, 3},
		{7<<20 + 1, 2 << 20, 64 << 10, 2},
		{3 << 20, 64 << 20, 4 << 20, 2},
	} {
		t.Run(fmt.Sprintf("size%d-seg%d-block%d", tc.size, tc.seg, tc.block), func(t *testing.T) {
			img := testImage(uint64(tc.size), tc.size)
			want := reference(c, chunk.NewIDHasher(key), img, tc.seg)
			tgt := newMemTarget(t)
			p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: tc.par,
				SegmentSize: int64(tc.seg), BlockSize: tc.block}, tgt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
			p.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d runs, reference %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("run %d: %+v, reference %+v", i, got[i], want[i])
				}
			}
			// Everything new was stored once and decodes back.
			rd := &Reader{Codec: codec, IDKey: key, Parallelism: 2}
			out := make([]byte, len(img))
			for i := range out {
				out[i] = 0x5a
			}
			src := memSource{tgt}
			if err := rd.Restore(context.Background(), got, src, writerAt(out), false, 0, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, img) {
				t.Fatal("restore differs")
			}
			if p.Stats.Read.Load() != int64(len(img)) {
				t.Fatalf("read %d bytes, want %d", p.Stats.Read.Load(), len(img))
			}
		})
	}
}

type writerAt []byte

func (w writerAt) WriteAt(p []byte, off int64) (int, error) { return copy(w[off:], p), nil }

// memSource serves a memTarget's blobs through a fake file.
type memSource struct{ t *memTarget }

func (m memSource) Locate(id chunk.ID) (BlobRef, error) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	b, ok := m.t.blobs[id]
	if !ok {
		return BlobRef{}, fmt.Errorf("%w: %s", chunk.ErrMissing, id.Short())
	}
	f := container.NewBlobReader("mem", bytesAt{b}, int64(len(b)), m.t.sealer)
	return BlobRef{File: f, Off: 0, CLen: uint32(len(b)), PLen: uint32(m.t.plens[id])}, nil
}

func TestPipelineSparseFileSameAsDense(t *testing.T) {
	// A sparse file (holes found by SEEK_DATA, not read) gives the same runs
	// as the same bytes written densely.
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 2)
	dir := t.TempDir()
	size := 9<<20 + 12345
	img := make([]byte, size)
	rand.Read(img[1<<20 : 1<<20+100000])
	rand.Read(img[5<<20+7 : 5<<20+70000])
	img[size-1] = 1
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(int64(size))
	for _, r := range [][2]int{{1 << 20, 1<<20 + 100000}, {5<<20 + 7, 5<<20 + 70000}, {size - 1, size}} {
		f.WriteAt(img[r[0]:r[1]], int64(r[0]))
	}
	runs := func(src interface {
		ReadAt([]byte, int64) (int, error)
	}) []chunk.Run {
		p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 2, SegmentSize: 4 << 20, BlockSize: 1 << 20}, newMemTarget(t))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		r, err := p.AddDisk(context.Background(), src, int64(size), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := runs(f), runs(bytesAt{img})
	f.Close()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("sparse file runs differ from dense ones:\n%v\n%v", a, b)
	}
	// Fragmented layouts: short holes inside data (they stay data), holes
	// across read blocks, data extents at odd offsets, written zeros.
	for seed := range uint64(4) {
		r := mrand.New(mrand.NewPCG(seed, 7))
		img := make([]byte, size)
		name := filepath.Join(dir, fmt.Sprint("frag", seed))
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(int64(size))
		for off := r.IntN(8 << 10); off < size; {
			n := min(size-off, 1+r.IntN(96<<10))
			if r.IntN(4) > 0 {
				rand.Read(img[off : off+n])
			} // else: zeros written as data
			if _, err := f.WriteAt(img[off:off+n], int64(off)); err != nil {
				t.Fatal(err)
			}
			off += n + []int{0, 1, 4 << 10, 8 << 10, 60 << 10, 72 << 10, 300 << 10}[r.IntN(7)] + r.IntN(3)*(4<<10)
		}
		// The file system must report the short holes for the test to
		// mean anything.
		holes, err := chunker.NewHoleProbe(f).Read(f, make([]byte, size), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		short := 0
		for _, h := range holes {
			if h.End-h.Start < chunker.HoleMin {
				short++
			}
		}
		if len(holes) < 20 || short < 5 {
			t.Fatalf("seed %d: the file system reports %d holes, %d of them short; want a fragmented file", seed, len(holes), short)
		}
		a, b := runs(f), runs(bytesAt{img})
		f.Close()
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("seed %d: fragmented sparse file runs differ from dense ones:\n%v\n%v", seed, a, b)
		}
	}
	if chunker.NewHoleProbe(bytesAt{img}) != nil {
		t.Fatal("probe for a non-file")
	}
}

func TestPipelineShortSourceFails(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	codec := enginetest.Codec(t, "none", "", c.Max(), 1)
	p, _ := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2, SegmentSize: 1 << 20, BlockSize: 256 << 10}, newMemTarget(t))
	defer p.Close()
	_, err := p.AddDisk(context.Background(), bytesAt{make([]byte, 3<<20)}, 4<<20, nil)
	if err == nil {
		t.Fatal("a source shorter than its size was accepted")
	}
}

func TestPipelineCancel(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	codec := enginetest.Codec(t, "zstd", "", c.Max(), 1)
	p, _ := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2, SegmentSize: 1 << 20, BlockSize: 256 << 10}, newMemTarget(t))
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img := make([]byte, 8<<20)
	rand.Read(img)
	if _, err := p.AddDisk(ctx, bytesAt{img}, int64(len(img)), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled AddDisk returned %v", err)
	}
}

// TestPipelineStoresInDiskOrder checks that the blobs of a segment reach
// the target in disk order although several sealers work on them at once:
// a stretch of disk must be a stretch of the archive for restores to read
// it in one go.
func TestPipelineStoresInDiskOrder(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 3)
	img := testImage(9, 6<<20+12345)
	tgt := newMemTarget(t)
	// One segment: one worker reads it, three sealers race on its chunks.
	p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 3,
		SegmentSize: 64 << 20, BlockSize: 256 << 10}, tgt)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	var want []chunk.ID
	seen := map[chunk.ID]bool{}
	for _, r := range runs {
		if !r.Hole && !seen[r.ID] {
			seen[r.ID] = true
			want = append(want, r.ID)
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d distinct chunks: too few to show an order", len(want))
	}
	if len(tgt.order) != len(want) {
		t.Fatalf("%d blobs stored, want %d", len(tgt.order), len(want))
	}
	for i := range want {
		if tgt.order[i] != want[i] {
			t.Fatalf("blob %d stored is chunk %s, disk order has %s", i, tgt.order[i].Short(), want[i].Short())
		}
	}
}

// failingAt fails reads at or past off with err; reads of the first block
// wait until that failure has happened (and a little longer), so the
// first segment is still running when the pipeline cancels it.
type failingAt struct {
	data   []byte
	off    int64
	err    error
	failed chan struct{}
	once   sync.Once
}

func (f *failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.off {
		f.once.Do(func() { close(f.failed) })
		return 0, f.err
	}
	if off == 0 {
		<-f.failed
		time.Sleep(50 * time.Millisecond)
	}
	return copy(p, f.data[off:]), nil
}

// TestPipelineErrorNamesCause checks that a failing segment's error is
// what AddDisk returns, not the cancellation it causes in the others.
func TestPipelineErrorNamesCause(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	codec := enginetest.Codec(t, "zstd", "", c.Max(), 2)
	p, _ := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2, SegmentSize: 1 << 20, BlockSize: 256 << 10}, newMemTarget(t))
	defer p.Close()
	cause := errors.New("medium error on the second segment")
	src := &failingAt{data: testImage(3, 4<<20), off: 1 << 20, err: cause, failed: make(chan struct{})}
	_, err := p.AddDisk(context.Background(), src, 4<<20, nil)
	if !errors.Is(err, cause) {
		t.Fatalf("AddDisk = %v, want the read error of the failing segment", err)
	}
}

// TestPipelineTinyChunks round-trips random data cut into 1-2 KiB chunks:
// about 7 000 chunks per 8 MiB block, whose blob overhead (about 30 bytes
// each) exceeds the arena's slack, so some blobs are allocated on their own.
func TestPipelineTinyChunks(t *testing.T) {
	c := enginetest.Chunker(t, 1<<10, 1<<10, 2<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "", c.Max(), 2)
	img := make([]byte, 16<<20+3)
	rand.Read(img)
	tgt := newMemTarget(t)
	p, _ := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 2, BlockSize: 8 << 20}, tgt)
	runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Stats.NewChunks.Load(); n < 2*(arenaSlack/29)+1000 {
		t.Fatalf("%d chunks stored: too few to overflow an arena", n)
	}
	out := make([]byte, len(img))
	rd := &Reader{Codec: codec, IDKey: key, Parallelism: 2}
	if err := rd.Restore(context.Background(), runs, memSource{tgt}, writerAt(out), false, 0, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, img) {
		t.Fatal("restore differs")
	}
}

// TestParentBoundaries: given the parent's runs, an unchanged disk is cut
// at exactly the chunks content-defined chunking gives (found by hashing
// at the parent's boundaries), and a changed one still covers the disk
// with chunks whose ids are their contents' hashes.
func TestParentBoundaries(t *testing.T) {
	img := enginetest.Mix(12 << 20)
	c := enginetest.Chunker(t, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 2)
	s, _ := crypt.NewSealer(crypt.AES256GCM, [32]byte{1})
	add := func(img []byte, parent []chunk.Run) []chunk.Run {
		p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2, SegmentSize: 4 << 20}, &discardTarget{sealer: s, seen: map[chunk.ID]bool{}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		runs, err := p.AddDiskFrom(context.Background(), bytesAt{img}, int64(len(img)), parent, nil)
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	base := add(img, nil)
	if again := add(img, base); !slices.Equal(again, base) {
		t.Fatalf("unchanged disk with its parent's runs: %d runs, %d without", len(again), len(base))
	}
	changed := bytes.Clone(img)
	for off := 100_000; off < len(changed); off += 1 << 20 {
		copy(changed[off:], bytes.Repeat([]byte{0x5A}, 4096))
	}
	h := chunk.NewIDHasher([32]byte{})
	runs := add(changed, base)
	var off int64
	for _, r := range runs {
		if !r.Hole && h.Sum(changed[off:off+r.Len]) != r.ID {
			t.Fatalf("chunk at %d: id is not its content's", off)
		}
		off += r.Len
	}
	if off != int64(len(changed)) || slices.Equal(runs, base) {
		t.Fatalf("runs cover %d of %d bytes (or ignore the change)", off, len(changed))
	}
}
