package objstore

import (
	"container/list"
	"context"
	"sync"
)

// blockCache holds blocks of objects read by ranged GETs, at most max
// bytes, least recently used first out. Objects are never changed after
// they are written (content-addressed or unique names), so a block stays
// valid for as long as the process runs; Delete drops an object's blocks
// anyway.
//
// How a read is served (read): a request of a block or more goes straight
// into the caller's buffer; a smaller one is served from a cached block,
// or fetches its block when the object's reads are sequential (the
// previous read ended near this one: a restore reading a pack's chunks in
// order) or the object is no larger than a block, and then also fetches
// the next block in the background; other small reads (a pack's header
// and trailer, one chunk here and there) fetch exactly what they need.
type blockCache struct {
	max, bs int64

	mu   sync.Mutex
	used int64
	m    map[blockKey]*list.Element
	lru  *list.List // of *block, most recent at the front
	free [][]byte   // buffers of evicted blocks, for the next fetches
}

type blockKey struct {
	name string
	idx  int64
}

type block struct {
	key  blockKey
	data []byte
	err  error
	done chan struct{}
	refs int // readers copying from data (under mu): it is not reused before they end
}

func newBlockCache(max, bs int64) *blockCache {
	return &blockCache{max: max, bs: bs, m: map[blockKey]*list.Element{}, lru: list.New()}
}

// read fills p from object o at off (the range is inside the object).
func (c *blockCache) read(ctx context.Context, o *object, p []byte, off int64) error {
	end := off + int64(len(p))
	last := o.lastEnd.Swap(end)
	if int64(len(p)) >= c.bs {
		return o.b.c.Get(ctx, o.name, off, p)
	}
	seq := o.size <= c.bs || (off >= last-c.bs && off <= last+c.bs)
	for len(p) > 0 {
		idx := off / c.bs
		bstart := idx * c.bs
		n := min(int64(len(p)), bstart+c.bs-off)
		blk := c.get(blockKey{o.name, idx}, seq, true, func(b *block) { c.fetch(ctx, o, b) })
		if blk == nil { // not cached, not worth caching: exactly what is asked
			if err := o.b.c.Get(ctx, o.name, off, p[:n]); err != nil {
				return err
			}
		} else {
			<-blk.done
			if blk.err != nil {
				c.unref(blk)
				return blk.err
			}
			copy(p[:n], blk.data[off-bstart:])
			c.unref(blk)
			if seq {
				for next := idx + 1; next <= idx+c.ahead() && next*c.bs < o.size; next++ {
					c.get(blockKey{o.name, next}, true, false, func(b *block) { go c.fetch(context.WithoutCancel(ctx), o, b) })
				}
			}
		}
		p, off = p[n:], off+n
	}
	return nil
}

// ahead is how many blocks a sequential read fetches ahead of itself:
// enough requests in flight to hide an object server's latency, and at
// most a quarter of the cache, so that the blocks fetched ahead are not
// evicted before they are read.
func (c *blockCache) ahead() int64 { return max(1, min(readAhead, c.max/c.bs/4)) }

// readAhead is the most blocks fetched ahead of a sequential read.
const readAhead = 4

// get returns the cached block of k; when there is none and create is
// set, a new pending block that start fetches (nil otherwise). With ref,
// the caller reads the block and calls unref when it has copied from it.
func (c *blockCache) get(k blockKey, create, ref bool, start func(*block)) *block {
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*block)
		if ref {
			b.refs++
		}
		c.mu.Unlock()
		return b
	}
	if !create {
		c.mu.Unlock()
		return nil
	}
	b := &block{key: k, done: make(chan struct{})}
	if ref {
		b.refs++
	}
	c.m[k] = c.lru.PushFront(b)
	c.used += c.bs
	c.evict()
	c.mu.Unlock()
	start(b)
	return b
}

// fetch reads block b of o and completes it. A failed block leaves the
// cache, so that the next read tries again.
func (c *blockCache) fetch(ctx context.Context, o *object, b *block) {
	start := b.key.idx * c.bs
	buf := c.buffer(min(c.bs, o.size-start))
	b.err = o.b.c.Get(ctx, o.name, start, buf)
	if b.err == nil {
		b.data = buf
	}
	close(b.done)
	if b.err != nil {
		c.mu.Lock()
		if e, ok := c.m[b.key]; ok && e.Value.(*block) == b {
			c.lru.Remove(e)
			delete(c.m, b.key)
			c.used -= c.bs
		}
		c.mu.Unlock()
	}
}

// unref ends a reader's use of b.
func (c *blockCache) unref(b *block) {
	c.mu.Lock()
	b.refs--
	c.mu.Unlock()
}

// buffer returns a buffer of n bytes (at most a block), an evicted
// block's when there is one: a restore then reads its packs through the
// same few buffers instead of leaving the garbage collector a block's
// worth of garbage per request.
func (c *blockCache) buffer(n int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := len(c.free); k > 0 {
		buf := c.free[k-1]
		c.free = c.free[:k-1]
		return buf[:n]
	}
	return make([]byte, n, c.bs)
}

// evict drops completed blocks nobody reads from the back until the
// cache fits, and keeps a few of their buffers for the next fetches.
// Called with mu held.
func (c *blockCache) evict() {
	for e := c.lru.Back(); e != nil && c.used > c.max; {
		prev := e.Prev()
		b := e.Value.(*block)
		select {
		case <-b.done:
			if b.refs > 0 {
				break // a reader copies from it
			}
			c.lru.Remove(e)
			delete(c.m, b.key)
			c.used -= c.bs
			if b.data != nil && int64(cap(b.data)) == c.bs && len(c.free) < maxFree {
				c.free = append(c.free, b.data)
			}
			b.data = nil
		default: // in flight: its reader holds it
		}
		e = prev
	}
}

// maxFree is how many evicted blocks' buffers are kept for reuse.
const maxFree = readAhead + 2

// drop forgets every block of object name.
func (c *blockCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if k.name == name {
			c.lru.Remove(e)
			delete(c.m, k)
			c.used -= c.bs
		}
	}
}
