package dedup

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"rb_module_rustack/internal/chunk"
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
