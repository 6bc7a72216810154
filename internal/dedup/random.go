package dedup

import (
	"container/list"
	"fmt"
	"io"
	"sort"
	"sync"

	"rb_module_rustack/internal/chunk"
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
		c, err := d.chunk(k)
		if err != nil {
			return 0, err
		}
		copy(dst, c[lo-d.offs[k]:hi-d.offs[k]])
	}
	if ahead {
		d.readAhead(end)
	}
	if end-off < int64(len(p)) {
		return int(end - off), io.EOF
	}
	return len(p), nil
}

// prefetch starts loading, in parallel, the chunks after the first that a
// read of runs first.. up to end needs and the cache lacks (at most
// 2 × Parallelism): the read then takes them in order as they arrive.
func (d *DiskReader) prefetch(first int, end int64) {
	d.mu.Lock() // no d.wg.Add once Close waits
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	n := 0
	for k := first + 1; k < len(d.runs) && d.offs[k] < end && n < 2*max(1, d.r.Parallelism); k++ {
		if d.runs[k].Hole || d.cache.has(d.runs[k].ID) {
			continue
		}
		n++
		d.wg.Add(1)
		go func(k int) {
			defer d.wg.Done()
			d.chunk(k) // an error is reported to the read itself
		}(k)
	}
}

// chunk returns the plaintext of run k, from the cache or loaded.
func (d *DiskReader) chunk(k int) ([]byte, error) {
	r := d.runs[k]
	c, err := d.cache.get(r.ID, func() ([]byte, error) {
		s := d.states.Get().(*readState)
		defer d.states.Put(s)
		return s.loadRun(d.src, r.ID, r.Len, r.Delta, make([]byte, r.Len))
	})
	if err != nil {
		return nil, &RangeError{Off: d.offs[k], End: d.offs[k] + r.Len, Err: err}
	}
	return c, nil
}

// readAhead loads, in the background, the chunks from end up to
// readAheadBytes (at most a quarter of the cache) past it that are not loaded or being loaded yet, at most
// 2 × Parallelism at a time (a chunk that would wait for a slot is left for
// the reader or the next read-ahead).
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
	for k := d.run(from); k < len(d.runs) && d.offs[k] < until; k++ {
		if d.runs[k].Hole || d.cache.has(d.runs[k].ID) {
			d.raUntil = d.offs[k] + d.runs[k].Len
			continue
		}
		select {
		case d.raSem <- struct{}{}:
		default:
			return
		}
		d.raUntil = d.offs[k] + d.runs[k].Len
		d.wg.Add(1)
		go func(k int) {
			defer d.wg.Done()
			defer func() { <-d.raSem }()
			d.chunk(k) // an error is reported to the read that needs the chunk
		}(k)
	}
}

// ChunkCache is an LRU cache of decoded chunks by id, bounded in bytes.
// Concurrent gets of the same chunk load it once; failures are not kept.
// Safe for concurrent use.
type ChunkCache struct {
	mu   sync.Mutex
	max  int64
	used int64
	lru  *list.List // of *cacheEntry, most recent first (loaded entries only)
	m    map[chunk.ID]*cacheEntry
}

type cacheEntry struct {
	id   chunk.ID
	data []byte
	err  error
	done chan struct{}
	elem *list.Element
}

// NewChunkCache returns a cache of at most maxBytes of chunks (<= 0: the
// default, DefaultCacheBytes); it always keeps the last chunk loaded.
func NewChunkCache(maxBytes int64) *ChunkCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &ChunkCache{max: maxBytes, lru: list.New(), m: make(map[chunk.ID]*cacheEntry)}
}

func (c *ChunkCache) has(id chunk.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}

func (c *ChunkCache) get(id chunk.ID, load func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.m[id]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.done
		return e.data, e.err
	}
	e := &cacheEntry{id: id, done: make(chan struct{})}
	c.m[id] = e
	c.mu.Unlock()

	data, err := load()
	c.mu.Lock()
	if err != nil {
		e.err = err
		delete(c.m, id)
	} else {
		e.data = data
		e.elem = c.lru.PushFront(e)
		c.used += int64(len(data))
		for c.used > c.max && c.lru.Len() > 1 {
			old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
			c.used -= int64(len(old.data))
			delete(c.m, old.id)
		}
	}
	c.mu.Unlock()
	close(e.done)
	return e.data, e.err
}
