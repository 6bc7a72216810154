package dedup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/enginetest"
)

// TestChunkCache: concurrent gets of one chunk load it once, the cache
// stays within its bytes (least recently used out first), a failed load
// is not kept, and the buffer of an evicted chunk is reused only once
// nobody holds it.
func TestChunkCache(t *testing.T) {
	const u = 4 << 10 // a chunk
	c := NewChunkCache(3 * u)
	var loads atomic.Int32
	load := func(fill byte) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) {
			loads.Add(1)
			for i := range b {
				b[i] = fill
			}
			return b, nil
		}
	}
	id := func(b byte) chunk.ID { return chunk.ID{b} }
	get := func(b byte, n int64) *cacheEntry {
		t.Helper()
		e, err := c.get(id(b), n, load(b))
		if err != nil || int64(len(e.data)) != n {
			t.Fatalf("get %d: %v", b, err)
		}
		return e
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e, err := c.get(id(1), u, load(1)); err != nil || len(e.data) != u {
				t.Errorf("get: %v", err)
			} else {
				c.release(e)
			}
		}()
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("16 concurrent gets loaded the chunk %d times", n)
	}
	c.release(get(2, u))
	c.release(get(3, u))
	c.release(get(1, u)) // 1 is now the most recent
	held := get(4, u)    // evicts 2
	if c.used > c.max {
		t.Fatalf("cache holds %d bytes, max %d", c.used, c.max)
	}
	if c.has(id(2)) || !c.has(id(1)) || !c.has(id(4)) {
		t.Fatalf("eviction not least recently used first: has 1 %v, 2 %v, 4 %v", c.has(id(1)), c.has(id(2)), c.has(id(4)))
	}
	// 4 is held by a reader while 5, 6 and 7 evict it: its bytes must
	// stay as they are until it is released, whatever is loaded meanwhile.
	for b := byte(5); b <= 7; b++ {
		c.release(get(b, u))
	}
	if c.has(id(4)) || !held.gone {
		t.Fatal("4 was not evicted")
	}
	for _, x := range held.data {
		if x != 4 {
			t.Fatalf("the held chunk 4 was overwritten (by %d) before its release", x)
		}
	}
	c.release(held)
	if c.freeBytes == 0 {
		t.Fatal("no buffer was kept for reuse after evictions")
	}
	kept := c.free[u][len(c.free[u])-1][:1]
	e8 := get(8, u)
	if &e8.data[0] != &kept[0] || e8.data[0] != 8 {
		t.Fatal("a load of a chunk of the same size did not reuse the buffer kept")
	}
	c.release(e8)

	boom := errors.New("boom")
	if _, err := c.get(id(9), 10, func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed load: %v", err)
	}
	if c.has(id(9)) {
		t.Fatal("a failed load was kept")
	}
	if e, err := c.get(id(9), 10, load(9)); err != nil || len(e.data) != 10 {
		t.Fatalf("retry after a failure: %v", err)
	}
}

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := int64(1); n < 1<<22; n += n/7 + 1 {
		c := sizeClass(n)
		if int64(c) < n || float64(c) > float64(n)*1.125+1 || c < prev {
			t.Fatalf("sizeClass(%d) = %d", n, c)
		}
		prev = c
	}
}

// chunkedImage stores a test image of size bytes (from seed) in small
// chunks into a memory target and returns the image, its runs, the target
// and a reader for them.
func chunkedImage(t *testing.T, seed uint64, size int) ([]byte, []chunk.Run, *memTarget, *Reader) {
	t.Helper()
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	var key [32]byte
	codec := enginetest.Codec(t, "zstd", "fastest", c.Max(), 2)
	img := testImage(seed, size)
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
	return img, runs, tgt, &Reader{Codec: codec, IDKey: key, Parallelism: 2}
}

// TestDiskReaderReadAhead: sequential reads load the chunks ahead of them
// before they are asked for, also for a second stream behind the first,
// and what the reader returns is the image.
func TestDiskReaderReadAhead(t *testing.T) {
	img, runs, tgt, rd := chunkedImage(t, 99, 12<<20)
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

// TestDiskReaderMissingChunk: with one chunk missing, sequential reads
// (read-ahead loading batches that hold it) fail exactly where they
// overlap it, with its byte range, and read the image everywhere else;
// once the chunk is back the same reads succeed (failures are not kept).
func TestDiskReaderMissingChunk(t *testing.T) {
	img, runs, tgt, rd := chunkedImage(t, 7, 8<<20)
	// The data chunk nearest the middle that occurs once.
	count := map[chunk.ID]int{}
	for _, r := range runs {
		count[r.ID]++
	}
	var lo, hi, off int64
	var gone chunk.ID
	for _, r := range runs {
		if !r.Hole && count[r.ID] == 1 && off >= 4<<20 && hi == 0 {
			lo, hi, gone = off, off+r.Len, r.ID
		}
		off += r.Len
	}
	if hi == 0 {
		t.Fatal("no chunk to take away")
	}
	saved := tgt.blobs[gone]
	delete(tgt.blobs, gone)
	d := rd.NewDiskReader(runs, memSource{tgt}, NewChunkCache(4<<20))
	defer d.Close()
	pass := func(wantFail bool) {
		t.Helper()
		buf := make([]byte, 128<<10)
		failed := 0
		for off := int64(0); off < int64(len(img)); off += int64(len(buf)) {
			_, err := d.ReadAt(buf, off)
			overlaps := off < hi && off+int64(len(buf)) > lo
			var re *RangeError
			switch {
			case overlaps && wantFail:
				if !errors.As(err, &re) || re.Off != lo || re.End != hi || !errors.Is(err, chunk.ErrMissing) {
					t.Fatalf("read at %d over the missing chunk [%d, %d): %v", off, lo, hi, err)
				}
				failed++
			case err != nil:
				t.Fatalf("read at %d: %v", off, err)
			case !bytes.Equal(buf, img[off:off+int64(len(buf))]):
				t.Fatalf("read at %d: wrong data", off)
			}
		}
		if wantFail && failed == 0 {
			t.Fatal("no read failed")
		}
	}
	pass(true)
	d.wg.Wait()
	tgt.blobs[gone] = saved
	pass(false)
}

// packedSource keeps every blob of a memTarget in one file, in the order
// they were stored (as in an archive), so that neighbouring chunks can be
// read with one read.
type packedSource struct {
	f    *container.FileReader
	refs map[chunk.ID]BlobRef
}

// spanFile is the packed file's bytes; reads longer than failAbove (when
// set) fail, as an unreadable span would.
type spanFile struct {
	b         []byte
	failAbove atomic.Int64
	longest   atomic.Int64 // the longest read asked for
}

func (f *spanFile) ReadAt(p []byte, off int64) (int, error) {
	for n := int64(len(p)); ; {
		l := f.longest.Load()
		if n <= l || f.longest.CompareAndSwap(l, n) {
			break
		}
	}
	if a := f.failAbove.Load(); a > 0 && int64(len(p)) > a {
		return 0, errors.New("injected read error")
	}
	if off+int64(len(p)) > int64(len(f.b)) {
		return 0, io.EOF
	}
	return copy(p, f.b[off:]), nil
}

func (s packedSource) Locate(id chunk.ID) (BlobRef, error) {
	r, ok := s.refs[id]
	if !ok {
		return BlobRef{}, chunk.ErrMissing
	}
	return r, nil
}

// TestDiskReaderSpans: the read-ahead reads neighbouring blobs with one
// read (longer than any blob), and when such a read fails it reads each
// blob on its own, so every read still returns the image.
func TestDiskReaderSpans(t *testing.T) {
	img, runs, tgt, rd := chunkedImage(t, 5, 12<<20)
	file := &spanFile{}
	src := packedSource{refs: map[chunk.ID]BlobRef{}}
	var longestBlob int64
	for _, id := range tgt.order {
		b := tgt.blobs[id]
		src.refs[id] = BlobRef{Off: uint64(len(file.b)), CLen: uint32(len(b)), PLen: uint32(tgt.plens[id])}
		file.b = append(file.b, b...)
		longestBlob = max(longestBlob, int64(len(b)))
	}
	src.f = container.NewBlobReader("packed", file, int64(len(file.b)), tgt.sealer)
	for id, r := range src.refs {
		r.File = src.f
		src.refs[id] = r
	}
	readAll := func() {
		t.Helper()
		d := rd.NewDiskReader(runs, src, NewChunkCache(8<<20))
		defer d.Close()
		buf := make([]byte, 128<<10)
		for off := int64(0); off < int64(len(img)); off += int64(len(buf)) {
			if _, err := d.ReadAt(buf, off); err != nil || !bytes.Equal(buf, img[off:off+int64(len(buf))]) {
				t.Fatalf("read at %d: %v or wrong data", off, err)
			}
		}
	}
	readAll()
	if l := file.longest.Load(); l <= longestBlob {
		t.Fatalf("the longest read was %d bytes, no longer than the longest blob (%d): no blobs were read together", l, longestBlob)
	}
	file.failAbove.Store(longestBlob)
	readAll()
}
