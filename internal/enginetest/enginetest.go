package enginetest

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/directio"
)

// Text is n bytes of English-like text (compressible, deterministic).
func Text(n int) []byte {
	r := mrand.New(mrand.NewPCG(1, 2))
	words := strings.Fields("the of and to in is was that for on as with by he it at from his an were are which this be or has had not but also first one their its new after who they have her she two been other when there all during into school time may years more most only over city some world would where later up such used many can state about national out known university united then made")
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(words[int(float64(len(words))*r.Float64()*r.Float64())])
		if r.IntN(15) == 0 {
			sb.WriteString(".\n")
		} else {
			sb.WriteByte(' ')
		}
	}
	return []byte(sb.String()[:n])
}

// Random is n random bytes (incompressible).
func Random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Mix is size bytes of 1 MiB extents: 50 % zeros, 30 % random, 20 % text.
func Mix(size int) []byte {
	r := mrand.New(mrand.NewPCG(3, 4))
	img := make([]byte, size)
	text := Text(1 << 20)
	for off := 0; off < size; off += 1 << 20 {
		n := min(1<<20, size-off)
		switch k := r.IntN(10); {
		case k < 5:
		case k < 8:
			rand.Read(img[off : off+n])
		default:
			copy(img[off:off+n], text)
			img[off] = byte(off >> 20) // no two text extents alike
		}
	}
	return img
}

// Codec returns a codec that is closed when the test ends.
func Codec(t testing.TB, compression, level string, maxChunk, concurrency int) *codec.Codec {
	t.Helper()
	c, err := codec.New(compression, level, maxChunk, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// CheckDirectReturned fails the test if it ends with more direct buffers
// handed out than it started with (a directio.Get without its Put).
func CheckDirectReturned(t testing.TB) {
	t.Helper()
	base := directio.InUse()
	t.Cleanup(func() {
		if n := directio.InUse(); n != base {
			t.Errorf("%d direct buffers in use at the end, %d at the start: one was not given back", n, base)
		}
	})
}

// Chunker returns a chunker with the given sizes and a fixed gear seed.
func Chunker(t testing.TB, min, avg, max int) *chunker.Chunker {
	t.Helper()
	var seed [32]byte
	seed[0] = 1
	c, err := chunker.NewChunker(min, avg, max, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
