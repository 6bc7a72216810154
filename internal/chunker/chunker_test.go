package chunker_test

import (
	"crypto/rand"
	"testing"

	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/enginetest"
)

func cutAll(c *chunker.Chunker, b []byte) []int {
	var sizes []int
	for len(b) > 0 {
		n := c.Cut(b)
		sizes = append(sizes, n)
		b = b[n:]
	}
	return sizes
}

func TestChunkerSizes(t *testing.T) {
	c := enginetest.Chunker(t, 16<<10, 64<<10, 256<<10)
	data := make([]byte, 64<<20)
	rand.Read(data)
	sizes := cutAll(c, data)
	total := 0
	for i, s := range sizes {
		total += s
		if s > c.Max() || (s < c.Min() && i != len(sizes)-1) {
			t.Fatalf("chunk %d has size %d outside [%d, %d]", i, s, c.Min(), c.Max())
		}
	}
	if total != len(data) {
		t.Fatalf("chunks cover %d of %d bytes", total, len(data))
	}
	avg := total / len(sizes)
	if avg < 40<<10 || avg > 100<<10 {
		t.Fatalf("average chunk %d bytes, want near 64 KiB", avg)
	}
	t.Logf("%d chunks, average %d bytes", len(sizes), avg)
}

func TestChunkerStreamingEqualsWhole(t *testing.T) {
	// Cut on a prefix of at least Max bytes equals cut on the whole.
	c := enginetest.Chunker(t, 2<<10, 8<<10, 32<<10)
	data := make([]byte, 1<<20)
	rand.Read(data)
	off := 0
	for off < len(data) {
		whole := c.Cut(data[off:])
		if len(data)-off > c.Max() {
			if p := c.Cut(data[off : off+c.Max()]); p != whole {
				t.Fatalf("at %d: prefix cut %d, whole cut %d", off, p, whole)
			}
		}
		off += whole
	}
}

func TestChunkerResync(t *testing.T) {
	// An insertion changes only the chunks around it.
	c := enginetest.Chunker(t, 4<<10, 16<<10, 64<<10)
	data := make([]byte, 4<<20)
	rand.Read(data)
	mod := append(append(append([]byte{}, data[:2<<20]...), []byte("inserted bytes")...), data[2<<20:]...)
	set := func(b []byte) map[string]bool {
		m := map[string]bool{}
		for len(b) > 0 {
			n := c.Cut(b)
			m[string(b[:n])] = true
			b = b[n:]
		}
		return m
	}
	a, b := set(data), set(mod)
	diff := 0
	for k := range b {
		if !a[k] {
			diff++
		}
	}
	if diff == 0 || diff > 3 {
		t.Fatalf("%d new chunks after one insertion, want 1..3", diff)
	}
}

func TestChunkerKeyChangesBoundaries(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.Read(data)
	var s1, s2 [32]byte
	s2[0] = 9
	c1, _ := chunker.NewChunker(16<<10, 64<<10, 256<<10, s1)
	c2, _ := chunker.NewChunker(16<<10, 64<<10, 256<<10, s2)
	if a, b := cutAll(c1, data), cutAll(c2, data); len(a) == len(b) && a[0] == b[0] && a[1] == b[1] {
		t.Fatal("different gear seeds gave the same boundaries")
	}
}

func TestChunkerRejectsBadSizes(t *testing.T) {
	var seed [32]byte
	for _, s := range [][3]int{{0, 64, 256}, {64 << 10, 16 << 10, 256 << 10}, {16 << 10, 64 << 10, 16 << 20}, {8 << 10, 8 << 10, 8 << 10}} {
		if _, err := chunker.NewChunker(s[0], s[1], s[2], seed); err == nil {
			t.Errorf("sizes %v accepted", s)
		}
	}
}

func BenchmarkZeroDetectZeros(b *testing.B) {
	z := chunker.NewZeroChecker()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1 // real memory, not the shared zero page
	}
	clear(buf)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for off := 0; off < len(buf); off += chunker.ZeroBlock {
			if !z.IsZero(buf[off : off+chunker.ZeroBlock]) {
				b.Fatal("not zero")
			}
		}
	}
}

func BenchmarkChunker(b *testing.B) {
	c := enginetest.Chunker(b, chunker.DefaultChunkMin, chunker.DefaultChunkAvg, chunker.DefaultChunkMax)
	buf := enginetest.Random(64 << 20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		cutAll(c, buf)
	}
}
