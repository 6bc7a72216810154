package dedup

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"

	"rb_module_rustack/internal/crypt"
)

// Per-stage benchmarks; each reports MB/s (go test -bench . -run ^$).

func benchText(n int) []byte {
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

func benchRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// benchMix is size bytes of 1 MiB extents: 50 % zeros, 30 % random, 20 % text.
func benchMix(size int) []byte {
	r := mrand.New(mrand.NewPCG(3, 4))
	img := make([]byte, size)
	text := benchText(1 << 20)
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

func BenchmarkZeroDetectZeros(b *testing.B) {
	z := newZeroChecker()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1 // real memory, not the shared zero page
	}
	clear(buf)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for off := 0; off < len(buf); off += ZeroBlock {
			if !z.isZero(buf[off : off+ZeroBlock]) {
				b.Fatal("not zero")
			}
		}
	}
}

func BenchmarkChunker(b *testing.B) {
	c := testChunker(b, DefaultChunkMin, DefaultChunkAvg, DefaultChunkMax)
	buf := benchRandom(64 << 20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		cutAll(c, buf)
	}
}

func BenchmarkHash64K(b *testing.B) {
	h := NewIDHasher([32]byte{1})
	buf := benchRandom(64 << 10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Sum(buf)
	}
}

func benchCompress(b *testing.B, buf []byte) {
	codec := testCodec(b, "zstd", "fastest", 256<<10, 1)
	dst := make([]byte, 0, 2*len(buf))
	var out []byte
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		out, _ = codec.compress(dst, buf)
	}
	b.ReportMetric(float64(len(out))/float64(len(buf)), "ratio")
}

func BenchmarkCompressText64K(b *testing.B)   { benchCompress(b, benchText(64<<10)) }
func BenchmarkCompressRandom64K(b *testing.B) { benchCompress(b, benchRandom(64<<10)) }

func BenchmarkDecompressText64K(b *testing.B) {
	codec := testCodec(b, "zstd", "fastest", 256<<10, 1)
	text := benchText(64 << 10)
	z, _ := codec.compress(nil, text)
	out := make([]byte, len(text))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := codec.decompress(out, z, len(text)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSeal(b *testing.B, name string) {
	s, _ := crypt.NewSealer(name, [32]byte{1})
	buf := benchRandom(64 << 10)
	dst := make([]byte, 0, len(buf)+64)
	ad := make([]byte, 32)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		dst = s.Seal(dst[:0], buf, ad)
	}
}

func BenchmarkSealAES64K(b *testing.B)    { benchSeal(b, crypt.AES256GCM) }
func BenchmarkSealChaCha64K(b *testing.B) { benchSeal(b, crypt.ChaCha20Poly1305) }

// discardTarget claims every chunk once and drops the blobs.
type discardTarget struct {
	sealer *crypt.Sealer
	mu     sync.Mutex
	seen   map[ID]bool
}

func (d *discardTarget) Claim(id ID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return false
	}
	d.seen[id] = true
	return true
}
func (d *discardTarget) Put(ID, []byte, int) error { return nil }
func (d *discardTarget) Sealer() *crypt.Sealer     { return d.sealer }

// BenchmarkPipeline runs the whole backup pipeline (zero detection, CDC,
// BLAKE3, zstd, AES-GCM) over a 256 MiB mix on all cores; blobs are dropped.
func BenchmarkPipeline(b *testing.B) {
	img := benchMix(256 << 20)
	c := testChunker(b, DefaultChunkMin, DefaultChunkAvg, DefaultChunkMax)
	codec := testCodec(b, "zstd", "fastest", c.Max(), 2)
	s, _ := crypt.NewSealer(crypt.AES256GCM, [32]byte{1})
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, &discardTarget{sealer: s, seen: map[ID]bool{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkRestore reads back the 256 MiB mix (AES-GCM open, zstd decode,
// BLAKE3 check, aligned pieces) into memory on all cores.
func BenchmarkRestore(b *testing.B) {
	img := benchMix(256 << 20)
	c := testChunker(b, DefaultChunkMin, DefaultChunkAvg, DefaultChunkMax)
	codec := testCodec(b, "zstd", "fastest", c.Max(), 2)
	tgt := newMemTarget(b)
	p, err := NewPipeline(Config{Chunker: c, Codec: codec, Parallelism: 2}, tgt)
	if err != nil {
		b.Fatal(err)
	}
	runs, err := p.AddDisk(context.Background(), bytesAt{img}, int64(len(img)), nil)
	p.Close()
	if err != nil {
		b.Fatal(err)
	}
	out := writerAt(make([]byte, len(img)))
	rd := &Reader{Codec: codec, Parallelism: 2}
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		if err := rd.Restore(context.Background(), runs, memSource{tgt}, out, true, 4096, nil); err != nil {
			b.Fatal(err)
		}
	}
}
