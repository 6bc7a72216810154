package dedup

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/enginetest"
)

// TestChunkCache: concurrent gets of one chunk load it once, the cache
// stays within its bytes (least recently used out first), and a failed
// load is not kept.
func TestChunkCache(t *testing.T) {
	c := NewChunkCache(3 << 10)
	var loads atomic.Int32
	load := func(n int) func() ([]byte, error) {
		return func() ([]byte, error) { loads.Add(1); return make([]byte, n), nil }
	}
	id := func(b byte) chunk.ID { return chunk.ID{b} }
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b, err := c.get(id(1), load(1<<10)); err != nil || len(b) != 1<<10 {
				t.Errorf("get: %d bytes, %v", len(b), err)
			}
		}()
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("16 concurrent gets loaded the chunk %d times", n)
	}
	c.get(id(2), load(1<<10))
	c.get(id(3), load(1<<10))
	c.get(id(1), load(1<<10)) // 1 is now the most recent
	c.get(id(4), load(1<<10)) // evicts 2
	if c.used > c.max {
		t.Fatalf("cache holds %d bytes, max %d", c.used, c.max)
	}
	if c.has(id(2)) || !c.has(id(1)) || !c.has(id(4)) {
		t.Fatalf("eviction not least recently used first: has 1 %v, 2 %v, 4 %v", c.has(id(1)), c.has(id(2)), c.has(id(4)))
	}
	boom := errors.New("boom")
	if _, err := c.get(id(5), func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed load: %v", err)
	}
	if c.has(id(5)) {
		t.Fatal("a failed load was kept")
	}
	if b, err := c.get(id(5), load(10)); err != nil || len(b) != 10 {
		t.Fatalf("retry after a failure: %d bytes, %v", len(b), err)
	}
}

// TestDiskReaderReadAhead: sequential reads load the chunks ahead of them
// before they are asked for, also for a second stream behind the first,
// and what the reader returns is the image.
func TestDiskReaderReadAhead(t *testing.T) {
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 2)
	img := testImage(99, 12<<20)
	tgt := newMemTarget(t)
	p, err := NewPipeline(Config{Chunker: c, IDKey: key, Codec: codec, Parallelism: 2, SegmentSize: 1 << 20, BlockSize: 64 << 10}, tgt)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	rd := &Reader{Codec: codec, IDKey: key, Parallelism: 2}
	d := rd.NewDiskReader(runs, memSource{tgt}, NewChunkCache(16<<20))
	defer d.Close()
	// ahead reports whether a data chunk wholly in [lo, hi) is cached.
	ahead := func(lo, hi int64) bool {
		for k, r := range runs {
			if !r.Hole && d.offs[k] >= lo && d.offs[k]+r.Len <= hi && d.cache.has(r.ID) {
				return true
			}
		}
		return false
	}
	stream := func(start int64) {
		t.Helper()
		buf := make([]byte, 64<<10)
		for off := start; off < start+4*int64(len(buf)); off += int64(len(buf)) {
			if _, err := d.ReadAt(buf, off); err != nil || !bytes.Equal(buf, img[off:off+int64(len(buf))]) {
				t.Fatalf("read at %d: %v or wrong data", off, err)
			}
			// Let the loads this read started end before the next read: a
			// read-ahead finds its slots taken (and leaves those chunks to
			// the next one) only while earlier loads still hold them, which
			// on a loaded machine could make the last read start none.
			d.wg.Wait()
		}
		end := start + 4*int64(len(buf))
		d.wg.Wait() // the read-ahead started by the reads
		if !ahead(end, end+4<<20) {
			t.Fatalf("no chunk of the 4 MiB after a sequential read ending at %d was loaded ahead", end)
		}
	}
	stream(6 << 20)
	stream(0) // behind the first stream: its own read-ahead
}
