package dedup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/enginetest"
)

// TestPipelineMappedSameAsRead backs up one file with its blocks mapped from
// the page cache, read into the buffers, and a mix of both (part of the file
// evicted from the cache), and checks the runs against the reference.
func TestPipelineMappedSameAsRead(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "none", "", c.Max(), 2)
	const seg, block = 2 << 20, 128 << 10
	size := 7<<20 + 4097
	img := testImage(7, size)
	want := reference(c, chunk.NewIDHasher(key), img, seg)
	name := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Written sparse: the zero runs of at least a page are holes.
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < size; off += 4096 {
		b := img[off:min(size, off+4096)]
		if !allZero(b) {
			if _, err := f.WriteAt(b, int64(off)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	var cs unix.Cachestat_t
	canMap := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: 0, Len: uint64(size)}, &cs, 0) == nil

	backup := func(readCopy bool) ([]chunk.Run, int64) {
		t.Helper()
		p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 2,
			SegmentSize: seg, BlockSize: block, ReadCopy: readCopy}, newMemTarget(t))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		runs, err := p.AddDisk(context.Background(), f, int64(size), nil)
		if err != nil {
			t.Fatal(err)
		}
		return runs, p.Stats.Mapped.Load()
	}
	check := func(what string, runs []chunk.Run) {
		t.Helper()
		if fmt.Sprint(runs) != fmt.Sprint(want) {
			t.Fatalf("%s: runs differ from the reference:\n%v\n%v", what, runs, want)
		}
	}

	runs, mapped := backup(true)
	check("read", runs)
	if mapped != 0 {
		t.Fatalf("ReadCopy mapped %d bytes", mapped)
	}
	runs, mapped = backup(false) // the read above left the file cached
	check("mapped", runs)
	if canMap && mapped != int64(size) {
		t.Fatalf("a cached file: %d of %d bytes mapped", mapped, size)
	}
	if !canMap && mapped != 0 {
		t.Fatalf("no cachestat here, yet %d bytes mapped", mapped)
	}
	// Cold, then every third block read back into the cache: the blocks
	// alternate between read and mapped, and carry data both ways.
	cached := func() uint64 {
		var cs unix.Cachestat_t
		if unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: 0, Len: uint64(size)}, &cs, 0) != nil {
			return 0
		}
		return cs.Cache
	}
	evict := func() {
		t.Helper()
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			t.Fatal(err)
		}
		if n := cached(); n != 0 {
			t.Skipf("the page cache keeps %d pages of the file after FADV_DONTNEED", n)
		}
	}
	evict()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM) // no read-ahead into the next block
	buf := make([]byte, block)
	for off := int64(0); off < int64(size); off += 3 * block {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	runs, mapped = backup(false)
	check("mixed", runs)
	if canMap && (mapped == 0 || mapped >= int64(size)) {
		t.Fatalf("a third of the file cached: %d of %d bytes mapped, want some but not all", mapped, size)
	}
	evict()
	runs, mapped = backup(false)
	check("cold", runs)
	// Only the blocks that are holes from end to end (no page to wait
	// for) are mapped.
	var holeBlocks int64
	for off := 0; off < size; off += block {
		if b := img[off:min(size, off+block)]; allZero(b) {
			holeBlocks += int64(len(b))
		}
	}
	if canMap && mapped != holeBlocks {
		t.Fatalf("an evicted file: %d bytes mapped, want %d (the blocks that are holes)", mapped, holeBlocks)
	}
	if !canMap && mapped != 0 {
		t.Fatalf("no cachestat here, yet %d bytes mapped", mapped)
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
