package dedup

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/directio"
	"rb_module_rustack/internal/enginetest"
)

// BenchmarkPipelineUnchangedFile is BenchmarkPipelineUnchanged over the same
// 256 MiB mix in a sparse file in the page cache (its zero extents are
// holes), as an unchanged re-backup of a cached image reads it: the hole
// probe, the preads from the page cache and the clearing of the holes in
// the read buffers count too. RB_BENCH_DIR names the directory for the file
// (default: the test's temporary directory).
func BenchmarkPipelineUnchangedFile(b *testing.B) {
	img := enginetest.Mix(256 << 20)
	dir := os.Getenv("RB_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	f, err := os.CreateTemp(dir, "mix-*.img")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Truncate(int64(len(img))); err != nil {
		b.Fatal(err)
	}
	for off := 0; off < len(img); off += 1 << 20 {
		if e := img[off:min(len(img), off+1<<20)]; !allZero(e) {
			if _, err := f.WriteAt(e, int64(off)); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Written back and read again, as an image on disk is cached: the
	// kernel caches what it reads in large folios, what it was written in
	// small ones.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	if os.Getenv("RB_BENCH_NOREREAD") == "" {
		if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, int64(len(img)))); err != nil {
			b.Fatal(err)
		}
	}
	c := enginetest.Chunker(b, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	codec := enginetest.Codec(b, "zstd", "fastest", c.Max(), 2)
	s, _ := crypt.NewSealer(crypt.AES256GCM, [32]byte{1})
	t := &discardTarget{sealer: s, seen: map[chunk.ID]bool{}}
	run := func() {
		p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, t)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.AddDisk(context.Background(), f, int64(len(img)), nil); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
	run()
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		run()
	}
}

// TestPipelineSparseReusedBuffers: the hole probe clears only the edges of a
// hole (ClearEdgesOnly), so the read buffers keep the data of earlier blocks
// inside holes. One worker, one segment, small blocks: every buffer is
// reused many times, holes of every length around chunker.HoleMin follow
// random data; the runs must be those of the same bytes read densely.
func TestPipelineSparseReusedBuffers(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "none", "", c.Max(), 1)
	size := 24<<20 + 4096*3 + 17
	img := make([]byte, size)
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(5, 6))
	holeLens := []int{4 << 10, 60 << 10, 64 << 10, 68 << 10, 128 << 10, 132 << 10, 200 << 10, 1 << 20, 3<<20 + 4096}
	holes := 0
	for off := 0; off < size; {
		n := min(size-off, 1+r.IntN(400<<10))
		rand.Read(img[off : off+n])
		if _, err := f.WriteAt(img[off:off+n], int64(off)); err != nil {
			t.Fatal(err)
		}
		off += n + holeLens[r.IntN(len(holeLens))] + r.IntN(2)*r.IntN(8192)
		holes++
	}
	img = img[:size]
	dense := func() []chunk.Run {
		return reference(c, chunk.NewIDHasher(key), img, size)
	}()
	for _, block := range []int{64 << 10, 128 << 10, 1 << 20} {
		p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 1,
			SegmentSize: int64(size+chunker.ZeroBlock-1) / chunker.ZeroBlock * chunker.ZeroBlock, BlockSize: block}, newMemTarget(t))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.AddDisk(context.Background(), f, int64(size), nil)
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(dense) {
			t.Fatalf("block %d: the sparse file's runs differ from the dense bytes' (%d holes):\n%v\n%v", block, holes, got, dense)
		}
		if p.Stats.Zero.Load() == 0 {
			t.Fatalf("block %d: no holes found", block)
		}
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// TestPipelineGivesBackReadBuffers: the workers' read buffers are mappings
// outside the Go heap; Close gives every one back.
func TestPipelineGivesBackReadBuffers(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	codec := enginetest.Codec(t, "none", "", c.Max(), 1)
	base := directio.InUse()
	p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 3}, newMemTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddDisk(context.Background(), bytesAt{testImage(3, 9<<20)}, 9<<20, nil); err != nil {
		t.Fatal(err)
	}
	if n := directio.InUse(); n < base+3*segBufs {
		t.Fatalf("%d mapped buffers in use with three workers running, want at least %d", n, base+3*segBufs)
	}
	p.Close()
	if n := directio.InUse(); n != base {
		t.Fatalf("%d mapped buffers in use after Close, %d before the pipeline", n, base)
	}
}
