package codec

import (
	"math/rand/v2"
	"os"
	"testing"
)

// words returns n bytes of seeded pseudo-text (words of a small
// vocabulary), compressible about as well as log files.
func words(n int) []byte {
	vocab := []string{"backup ", "volume ", "snapshot ", "chunk ", "the ", "of ", "a ", "restore ", "error ", "0x3f2a ", "\n", "2026-12-06 ", "INFO ", "store "}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, vocab[r.IntN(len(vocab))]...)
	}
	return b[:n]
}

// benchZstdEncoders compresses data in 96 KiB chunks with the Go encoder
// and with this build's own (the C library's in a cgo build), one core.
// RB_BENCH_CORPUS names a file to use instead of generated text (for
// example the allocated blocks of bench/fsimage.sh's image).
func BenchmarkZstdEncoders(b *testing.B) {
	data := words(32 << 20)
	if f := os.Getenv("RB_BENCH_CORPUS"); f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	saved := native
	defer func() { native = saved }()
	for _, enc := range []struct {
		name   string
		native func(zstdLevel) Encoder
	}{{"go", nil}, {"build", saved}} {
		b.Run(enc.name, func(b *testing.B) {
			native = enc.native
			c, err := New("zstd", "fastest", 256<<10, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			const cs = 96 << 10
			dst := make([]byte, 0, 2*cs)
			var out int
			b.SetBytes(int64(len(data) / cs * cs))
			for b.Loop() {
				out = 0
				for o := 0; o+cs <= len(data); o += cs {
					z, _ := c.Compress(dst, data[o:o+cs])
					out += len(z)
				}
			}
			b.ReportMetric(float64(out)/float64(len(data)/cs*cs)*100, "%stored")
		})
	}
}
