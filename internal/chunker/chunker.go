package chunker

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/chunk"
)

// Chunk size limits accepted by NewChunker.
const (
	MinChunkLimit = 1 << 10      // 1 KiB
	MaxChunkLimit = chunk.MaxLen // 8 MiB, the format's limit
)

// Default chunk sizes.
const (
	DefaultChunkMin = 16 << 10
	DefaultChunkAvg = 64 << 10
	DefaultChunkMax = 256 << 10
)

// Chunker finds content-defined cut points with FastCDC and normalized
// chunking (level 2): below the average size a cut needs two more zero bits
// of the gear hash than the average implies, above it two fewer, which keeps
// sizes close to the average. The gear table is derived from a key, so cut
// points reveal nothing about content without it. Immutable; safe for
// concurrent use.
type Chunker struct {
	gear          [256]uint64
	min, avg, max int
	maskS, maskL  uint64
}

// NewChunker returns a chunker with the given sizes (bytes) and gear seed
// (crypt.GearSeed).
func NewChunker(minSize, avgSize, maxSize int, seed [32]byte) (*Chunker, error) {
	if minSize < MinChunkLimit || maxSize > MaxChunkLimit || !(minSize <= avgSize && avgSize <= maxSize) || minSize == maxSize {
		return nil, fmt.Errorf("chunk sizes min %d, avg %d, max %d: want %d <= min <= avg <= max <= %d and min < max", minSize, avgSize, maxSize, MinChunkLimit, MaxChunkLimit)
	}
	c := &Chunker{min: minSize, avg: avgSize, max: maxSize}
	b := bits.Len(uint(avgSize)) - 1 // floor(log2(avg))
	s, l := b+2, b-2
	if l < 1 {
		l = 1
	}
	c.maskS = ^uint64(0) << (64 - s)
	c.maskL = ^uint64(0) << (64 - l)
	h, _ := blake3.NewKeyed(seed[:])
	h.Write([]byte("gear"))
	var raw [256 * 8]byte
	h.Digest().Read(raw[:])
	for i := range c.gear {
		c.gear[i] = binary.LittleEndian.Uint64(raw[i*8:])
	}
	return c, nil
}

// Min, Avg and Max are the configured sizes.
func (c *Chunker) Min() int { return c.min }

// Avg is the configured average size.
func (c *Chunker) Avg() int { return c.avg }

// Max is the configured largest size.
func (c *Chunker) Max() int { return c.max }

// Cut returns the length of the first chunk of b. When len(b) >= Max the
// result depends only on b[:Max], so a stream can be cut incrementally; when
// b is the rest of a region, cutting repeatedly until it is empty gives the
// region's chunks.
func (c *Chunker) Cut(b []byte) int {
	n := len(b)
	if n <= c.min {
		return n
	}
	if n > c.max {
		n = c.max
	}
	normal := c.avg
	if normal > n {
		normal = n
	}
	i, h, ok := c.scan(b[:normal], c.min, 0, c.maskS)
	if ok {
		return i
	}
	if i, _, ok = c.scan(b[:n], normal, h, c.maskL); ok {
		return i
	}
	return n
}

// scan rolls the gear hash over b[i:] starting from h and returns the
// position after the first byte where h&mask == 0. This loop is the
// chunker's whole cost. Rolled byte by byte, h = h<<1 + gear[b] is a chain
// of two dependent operations per byte; here bytes are taken four at once:
// their gear sums are combined off the chain (p2, p3, p4) and each of the
// four hashes is h shifted plus one of them, so the chain is one shift and
// one add per four bytes. The hashes and cut points are exactly those of
// the byte-by-byte loop (scanBytes, kept as the reference in tests). The
// loop body is the four-byte step written out twice (eight bytes per
// iteration, one bounds check): the repetition is the unrolling, on purpose.
func (c *Chunker) scan(b []byte, i int, h, mask uint64) (int, uint64, bool) {
	g := &c.gear
	for ; i+7 < len(b); i += 8 {
		x := b[i : i+8 : i+8]
		g0, g1, g2, g3 := g[x[0]], g[x[1]], g[x[2]], g[x[3]]
		p2 := g0<<1 + g1
		p3 := p2<<1 + g2
		p4 := p3<<1 + g3
		if h1 := h<<1 + g0; h1&mask == 0 {
			return i + 1, h1, true
		}
		if h2 := h<<2 + p2; h2&mask == 0 {
			return i + 2, h2, true
		}
		if h3 := h<<3 + p3; h3&mask == 0 {
			return i + 3, h3, true
		}
		h = h<<4 + p4
		if h&mask == 0 {
			return i + 4, h, true
		}
		g0, g1, g2, g3 = g[x[4]], g[x[5]], g[x[6]], g[x[7]]
		p2 = g0<<1 + g1
		p3 = p2<<1 + g2
		p4 = p3<<1 + g3
		if h1 := h<<1 + g0; h1&mask == 0 {
			return i + 5, h1, true
		}
		if h2 := h<<2 + p2; h2&mask == 0 {
			return i + 6, h2, true
		}
		if h3 := h<<3 + p3; h3&mask == 0 {
			return i + 7, h3, true
		}
		h = h<<4 + p4
		if h&mask == 0 {
			return i + 8, h, true
		}
	}
	return c.scanBytes(b, i, h, mask)
}

// scanBytes is scan one byte at a time.
func (c *Chunker) scanBytes(b []byte, i int, h, mask uint64) (int, uint64, bool) {
	g := &c.gear
	for ; i < len(b); i++ {
		h = h<<1 + g[b[i]]
		if h&mask == 0 {
			return i + 1, h, true
		}
	}
	return i, h, false
}
