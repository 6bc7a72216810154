package dedup

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/directio"
)

// DefaultCacheBytes is the default size of a DiskReader's chunk cache.
const DefaultCacheBytes = 64 << 20

// readAheadBytes is how far past a sequential read a DiskReader loads
// chunks in the background; readAheadAfter is how many reads in a row must
// continue each other before it starts.
const (
	readAheadBytes = 16 << 20
	readAheadAfter = 2
	seqSlack       = 1 << 20
	// readAheadBatch is about the bytes of chunks one read-ahead load
	// takes: read with as few reads as their blobs allow, then decoded.
	readAheadBatch = 2 << 20
)

// RangeError is the failure of the chunk that holds disk bytes
// [Off, End): a read that needs any of them fails with it, other ranges of
// the disk still read.
type RangeError struct {
	Off, End int64
	Err      error
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("disk bytes %d-%d: %v", e.Off, e.End, e.Err)
}

func (e *RangeError) Unwrap() error { return e.Err }

// DiskReader reads one disk (its runs) at random offsets: each read looks
// up the runs it covers (binary search), loads, authenticates and decodes
// their chunks through a bounded LRU cache of plaintext chunks, and reads
// holes as zeros. Reads that continue each other start a read-ahead of the
// next chunks. Safe for concurrent use; memory is bounded by the cache
// size plus the chunks being loaded, never by the disk size.
type DiskReader struct {
	r      *Reader
	src    Source
	runs   []chunk.Run
	offs   []int64 // start of each run
	size   int64
	cache  *ChunkCache
	states sync.Pool

	mu      sync.Mutex
	lastEnd int64 // end of the previous read
	streak  int   // reads in a row that continued the previous one
	raUntil int64 // read-ahead was started up to this offset
	raSem   chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

// NewDiskReader returns a random-access reader over runs, whose chunks src
// locates, keeping decoded chunks in cache (which several readers may
// share; nil: a cache of its own of DefaultCacheBytes).
func (r *Reader) NewDiskReader(runs []chunk.Run, src Source, cache *ChunkCache) *DiskReader {
	if cache == nil {
		cache = NewChunkCache(0)
	}
	d := &DiskReader{r: r, src: src, runs: runs, offs: make([]int64, len(runs)), cache: cache,
		raSem: make(chan struct{}, max(1, 2*r.Parallelism))}
	for i, x := range runs {
		d.offs[i] = d.size
		d.size += x.Len
	}
	d.states.New = func() any { return r.newState() }
	return d
}

// Size is the disk's size in bytes.
func (d *DiskReader) Size() int64 { return d.size }

// Close waits for the read-ahead still running; reads after Close fail.
func (d *DiskReader) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// run returns the index of the run that holds byte off (0 <= off < size).
func (d *DiskReader) run(off int64) int {
	return sort.Search(len(d.offs), func(i int) bool { return d.offs[i]+d.runs[i].Len > off })
}

// ReadAt reads len(p) bytes at off. A read that reaches the end of the
// disk returns the bytes up to it and io.EOF. A chunk that cannot be read
// fails the read with a *RangeError naming its byte range.
func (d *DiskReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	if off >= d.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	end := min(d.size, off+int64(len(p)))
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return 0, fmt.Errorf("read at %d: reader closed", off)
	}
	// Near the end of the previous read counts as sequential: the kernel
	// sends the read-ahead of a file in several requests, in any order.
	if off >= d.lastEnd-seqSlack && off <= d.lastEnd+seqSlack {
		d.streak++
	} else {
		d.streak = 0
	}
	d.lastEnd = end
	ahead := d.streak >= readAheadAfter
	d.mu.Unlock()

	first := d.run(off)
	d.prefetch(first, end)
	for k := first; k < len(d.runs) && d.offs[k] < end; k++ {
		lo, hi := max(off, d.offs[k]), min(end, d.offs[k]+d.runs[k].Len)
		dst := p[lo-off : hi-off]
		if d.runs[k].Hole {
			clear(dst)
			continue
		}
		e, err := d.chunk(k)
		if err != nil {
			return 0, err
		}
		copy(dst, e.data[lo-d.offs[k]:hi-d.offs[k]])
		d.cache.release(e)
	}
	if ahead {
		d.readAhead(end)
	}
	if end-off < int64(len(p)) {
		return int(end - off), io.EOF
	}
	return len(p), nil
}

// prefetch starts loading, in parallel, the chunks of runs first.. up to
// end that the cache lacks, as up to Parallelism batches of neighbouring
// chunks (each batch one read per run of nearby blobs): the read then
// takes them in order as they arrive.
func (d *DiskReader) prefetch(first int, end int64) {
	var ks []int
	var bytes int64
	for k := first; k < len(d.runs) && d.offs[k] < end; k++ {
		if !d.runs[k].Hole && !d.cache.has(d.runs[k].ID) {
			ks = append(ks, k)
			bytes += d.runs[k].Len
		}
	}
	if len(ks) == 0 {
		return
	}
	d.mu.Lock() // no d.wg.Add once Close waits
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	per := max(bytes/int64(max(1, d.r.Parallelism)), 1)
	for len(ks) > 0 {
		n, b := 0, int64(0)
		for n < len(ks) && (n == 0 || b < per) {
			b += d.runs[ks[n]].Len
			n++
		}
		batch := ks[:n:n]
		ks = ks[n:]
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.loadBatch(batch) // an error is reported to the read itself
		}()
	}
}

// chunk returns the cache entry of run k (whose data the caller reads,
// then gives back with d.cache.release), from the cache or loaded.
func (d *DiskReader) chunk(k int) (*cacheEntry, error) {
	r := d.runs[k]
	e, err := d.cache.get(r.ID, r.Len, func(buf []byte) ([]byte, error) {
		s := d.states.Get().(*readState)
		defer d.states.Put(s)
		return s.loadRun(d.src, r.ID, r.Len, r.Delta, buf)
	})
	if err != nil {
		return nil, &RangeError{Off: d.offs[k], End: d.offs[k] + r.Len, Err: err}
	}
	return e, nil
}

// readAhead loads, in the background, the chunks from end up to
// readAheadBytes (at most a quarter of the cache) past it that are not
// loaded or being loaded yet, in batches of about readAheadBatch bytes
// (one read per run of nearby blobs, decoded on a core of its own), at
// most 2 × Parallelism batches at a time (what would wait for a slot is
// left for the reader or the next read-ahead).
func (d *DiskReader) readAhead(end int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	// At most a quarter of the cache, so the read-ahead does not evict
	// what it loaded before it is read.
	until := min(d.size, end+min(readAheadBytes, d.cache.max/4))
	// Go on from where the last read-ahead stopped, unless that was for
	// another stream (behind this read, or beyond its window).
	from := end
	if d.raUntil > end && d.raUntil <= until {
		from = d.raUntil
	}
	if from >= until {
		return
	}
	var batch []int
	var bytes int64
	start := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case d.raSem <- struct{}{}:
		default:
			return false
		}
		b := batch
		d.raUntil = d.offs[b[len(b)-1]] + d.runs[b[len(b)-1]].Len
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-d.raSem }()
			d.loadBatch(b) // an error is reported to the read that needs the chunk
		}()
		batch, bytes = nil, 0
		return true
	}
	for k := d.run(from); k < len(d.runs) && d.offs[k] < until; k++ {
		if d.runs[k].Hole || d.cache.has(d.runs[k].ID) {
			if len(batch) == 0 {
				d.raUntil = d.offs[k] + d.runs[k].Len
			}
			continue
		}
		batch = append(batch, k)
		bytes += d.runs[k].Len
		if bytes >= readAheadBatch && !start() {
			return
		}
	}
	start()
}

// loadBatch loads the chunks of runs ks that nobody else loads or has
// loaded into the cache: it locates them, reads their blobs with one read
// per run of nearby blobs of a file (spans), and opens each. A chunk that
// fails is failed alone (its waiters get the error, the next read tries
// again).
func (d *DiskReader) loadBatch(ks []int) {
	type claimed struct {
		k    int
		e    *cacheEntry
		done bool
	}
	var cl []claimed
	for _, k := range ks {
		if e, mine := d.cache.claim(d.runs[k].ID); mine {
			cl = append(cl, claimed{k: k, e: e})
		} else {
			d.cache.release(e)
		}
	}
	byK := make(map[int]int, len(cl))
	fill := func(i int, buf, data []byte, err error) {
		if !cl[i].done {
			cl[i].done = true
			d.cache.fill(cl[i].e, buf, data, err)
		}
	}
	defer func() {
		for i := range cl {
			fill(i, nil, nil, errors.New("chunk not loaded")) // only after a panic
			d.cache.release(cl[i].e)
		}
	}()
	var located []BlobRef
	defer func() {
		for _, ref := range located {
			release(d.src, ref)
		}
	}()
	refs := make([]pieceRef, 0, len(cl))
	s := d.states.Get().(*readState)
	defer d.states.Put(s)
	for i, c := range cl {
		r := d.runs[c.k]
		if r.Delta != nil {
			// Rebuilt from its patch and bases, each read on its own.
			buf := d.cache.alloc(r.Len)
			out, err := s.loadRun(d.src, r.ID, r.Len, r.Delta, buf)
			fill(i, buf, out, err)
			continue
		}
		ref, err := d.src.Locate(r.ID)
		if err == nil {
			located = append(located, ref)
			err = checkLen(ref, r)
		}
		if err != nil {
			fill(i, nil, nil, err)
			continue
		}
		refs = append(refs, pieceRef{c.k, ref})
		byK[c.k] = i
	}
	var scratch []byte
	defer func() { directio.Put(scratch) }()
	forSpans(refs, readAheadBatch, func(f *container.FileReader, start, end int64, group []pieceRef) error {
		data, sc, err := f.ReadSpan(scratch, start, end-start)
		scratch = sc
		for _, pr := range group {
			i := byK[pr.k]
			var blob []byte
			if err == nil {
				blob = data[int64(pr.ref.Off)-start : int64(pr.ref.Off)-start+int64(pr.ref.CLen)]
			} else {
				// The span could not be read: each blob on its own, so
				// that only the unreadable ones fail.
				var berr error
				if s.blob, berr = f.ReadBlob(s.blob, pr.ref.Off, pr.ref.CLen); berr != nil {
					fill(i, nil, nil, berr)
					continue
				}
				blob = s.blob
			}
			r := d.runs[pr.k]
			buf := d.cache.alloc(r.Len)
			out, oerr := s.open(f, r.ID, blob, r.Len, buf)
			fill(i, buf, out, oerr)
		}
		return nil
	})
}

// ChunkCache is an LRU cache of decoded chunks by id, bounded in bytes.
// Concurrent gets of the same chunk load it once; failures are not kept.
// The buffers of evicted chunks are reused for the next loads once no
// reader holds them (a fresh buffer per chunk costs page faults and
// garbage collection). Safe for concurrent use.
type ChunkCache struct {
	mu        sync.Mutex
	max       int64
	used      int64
	lru       *list.List // of *cacheEntry, most recent first (loaded entries only)
	m         map[chunk.ID]*cacheEntry
	free      map[int][][]byte // buffers for reuse, by capacity
	freeBytes int64
	slab      []byte // what is left of the slab that new buffers are cut from
	slabBytes int64  // of all slabs made
}

type cacheEntry struct {
	id   chunk.ID
	data []byte
	buf  []byte // the buffer data is in, given back when the entry is gone and unheld
	err  error
	done chan struct{}
	elem *list.Element
	refs int  // holders: the loader and every reader between get and release
	gone bool // out of the cache (evicted or failed)
}

// NewChunkCache returns a cache of at most maxBytes of chunks (<= 0: the
// default, DefaultCacheBytes); it always keeps the last chunk loaded.
func NewChunkCache(maxBytes int64) *ChunkCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &ChunkCache{max: maxBytes, lru: list.New(), m: make(map[chunk.ID]*cacheEntry), free: make(map[int][][]byte)}
}

func (c *ChunkCache) has(id chunk.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}

// get returns the entry of chunk id (n bytes), loading it with load (into
// the buffer it is given) unless it is cached or being loaded; the caller
// reads e.data, then calls release(e). A failed load returns its error.
func (c *ChunkCache) get(id chunk.ID, n int64, load func(buf []byte) ([]byte, error)) (*cacheEntry, error) {
	e, mine := c.claim(id)
	if mine {
		buf := c.alloc(n)
		data, err := load(buf)
		c.fill(e, buf, data, err)
	} else {
		<-e.done
	}
	if e.err != nil {
		err := e.err
		c.release(e)
		return nil, err
	}
	return e, nil
}

// claim returns the entry of id, held (release it): mine when it was not
// there and the caller must now fill it, else one loaded or being loaded.
func (c *ChunkCache) claim(id chunk.ID) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		e.refs++
		return e, false
	}
	e := &cacheEntry{id: id, done: make(chan struct{}), refs: 1}
	c.m[id] = e
	return e, true
}

// fill ends the load of a claimed entry: data (in buf, from alloc) or err.
func (c *ChunkCache) fill(e *cacheEntry, buf, data []byte, err error) {
	c.mu.Lock()
	e.buf = buf
	if err != nil {
		e.err = err
		e.gone = true
		delete(c.m, e.id)
	} else {
		e.data = data
		e.elem = c.lru.PushFront(e)
		c.used += int64(len(data))
		for c.used > c.max && c.lru.Len() > 1 {
			old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
			c.used -= int64(len(old.data))
			delete(c.m, old.id)
			old.elem, old.gone = nil, true
			if old.refs == 0 {
				c.recycle(old)
			}
		}
	}
	c.mu.Unlock()
	close(e.done)
}

// release gives back an entry from get or claim.
func (c *ChunkCache) release(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.gone {
		c.recycle(e)
	}
}

// recycle keeps the buffer of an entry that is gone and unheld for reuse,
// up to a quarter of the cache's size, or one (c.mu held).
func (c *ChunkCache) recycle(e *cacheEntry) {
	b := e.buf
	e.buf, e.data = nil, nil
	if b == nil || (c.freeBytes > 0 && c.freeBytes+int64(cap(b)) > c.max/4) {
		return
	}
	c.free[cap(b)] = append(c.free[cap(b)], b[:0])
	c.freeBytes += int64(cap(b))
}

// alloc returns a buffer of n bytes: a reused one of its size class, or
// a new one cut from a slab.
func (c *ChunkCache) alloc(n int64) []byte {
	size := sizeClass(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.free[size]; len(l) > 0 {
		b := l[len(l)-1]
		c.free[size] = l[:len(l)-1]
		c.freeBytes -= int64(size)
		return b[:n]
	}
	if len(c.slab) < size && size <= slabSize/8 && c.slabBytes+slabSize <= c.max+c.max/2 {
		c.slab = newSlab()
		c.slabBytes += slabSize
	}
	if len(c.slab) >= size {
		b := c.slab[:n:size]
		c.slab = c.slab[size:]
		return b
	}
	return make([]byte, n, size)
}

// slabSize is the size of the slabs that a cache's buffers are cut from.
const slabSize = 16 << 20

// newSlab returns slabSize bytes of memory advised as transparent huge
// pages (where the kernel has them for madvise): filling a cache of new
// chunks otherwise costs a page fault per 4 KiB, which on the benchmark
// machine was a sixth of the mount's CPU time. It is Go memory: the
// collector frees it with the last buffer cut from it.
func newSlab() []byte {
	const huge = 2 << 20
	b := make([]byte, slabSize+huge)
	off := (huge - int(uintptr(unsafe.Pointer(unsafe.SliceData(b))))%huge) % huge
	b = b[off : off+slabSize : off+slabSize]
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: without it, 4 KiB pages
	return b
}

// sizeClass is the capacity of the buffer for n bytes: n rounded up to a
// multiple of an eighth of the power of two below it (at most 12.5 %
// more), so buffers of chunks of similar sizes can be reused for each
// other.
func sizeClass(n int64) int {
	if n <= 4096 {
		return int(max(n, 1))
	}
	step := int64(1) << (bits.Len64(uint64(n-1)) - 4)
	return int((n + step - 1) / step * step)
}
