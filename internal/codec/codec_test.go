package codec_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/enginetest"
)

func benchCompress(b *testing.B, buf []byte) { benchCompressWith(b, "zstd", "fastest", buf) }

func benchCompressWith(b *testing.B, name, level string, buf []byte) {
	c := enginetest.Codec(b, name, level, 256<<10, 1)
	dst := make([]byte, 0, 2*len(buf))
	var out []byte
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		out, _ = c.Compress(dst, buf)
	}
	b.ReportMetric(float64(len(out))/float64(len(buf)), "ratio")
}

func BenchmarkCompressText64K(b *testing.B) { benchCompress(b, enginetest.Text(64<<10)) }

func BenchmarkCompressRandom64K(b *testing.B) { benchCompress(b, enginetest.Random(64<<10)) }

func BenchmarkCompressS2Text64K(b *testing.B) {
	benchCompressWith(b, "s2", "fastest", enginetest.Text(64<<10))
}

func BenchmarkCompressS2BetterText64K(b *testing.B) {
	benchCompressWith(b, "s2", "better", enginetest.Text(64<<10))
}

func BenchmarkCompressS2Random64K(b *testing.B) {
	benchCompressWith(b, "s2", "fastest", enginetest.Random(64<<10))
}

func BenchmarkDecompressText64K(b *testing.B) { benchDecompress(b, "zstd") }

func BenchmarkDecompressS2Text64K(b *testing.B) { benchDecompress(b, "s2") }

func benchDecompress(b *testing.B, name string) {
	c := enginetest.Codec(b, name, "fastest", 256<<10, 1)
	text := enginetest.Text(64 << 10)
	z, flag := c.Compress(nil, text)
	out := make([]byte, len(text))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := c.Decompress(out, z, flag, len(text)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRegistry(t *testing.T) {
	if got := strings.Join(codec.Names(), " "); got != "zstd none s2" {
		t.Fatalf("names %q, want the default (zstd) first, then none", got)
	}
	if got := strings.Join(codec.Levels(), " "); got != "fastest default better" {
		t.Fatalf("levels %q", got)
	}
	flags := map[byte]string{}
	defaults := 0
	for _, a := range codec.List() {
		if o, ok := flags[a.Flag()]; ok {
			t.Fatalf("%s and %s share flag %d", a.Name(), o, a.Flag())
		}
		flags[a.Flag()] = a.Name()
		if a.Default() {
			defaults++
		}
		if l := a.Levels(); len(l) > 0 && !slices.Contains(l, a.DefaultLevel()) {
			t.Fatalf("%s: default level %q not among %v", a.Name(), a.DefaultLevel(), l)
		}
		if b, ok := codec.Lookup(a.Name()); !ok || b.Name() != a.Name() {
			t.Fatalf("lookup %s failed", a.Name())
		}
	}
	if defaults != 1 {
		t.Fatalf("%d default algorithms, want 1", defaults)
	}
	if _, err := codec.New("lz5", "", 1<<20, 1); err == nil || !strings.Contains(err.Error(), "want zstd, none or s2") {
		t.Fatalf("unknown compression: %v", err)
	}
	if _, err := codec.New("zstd", "ultra", 1<<20, 1); err == nil || !strings.Contains(err.Error(), "want fastest, default or better") {
		t.Fatalf("unknown level: %v", err)
	}
}

// roundTrip compresses chunk with c and decompresses it with a codec of
// another algorithm (every codec reads every flag); it returns the flag.
func roundTrip(t *testing.T, c *codec.Codec, chunk []byte) byte {
	t.Helper()
	other := enginetest.Codec(t, "none", "", 1<<20, 1)
	p, flag := c.Compress(nil, chunk)
	if flag == codec.Raw {
		if &p[0] != &chunk[0] {
			t.Fatal("a raw payload is a copy")
		}
		return flag
	}
	if !other.CanDecode(flag) {
		t.Fatalf("flag %d cannot be decoded", flag)
	}
	out, err := other.Decompress(make([]byte, 0, len(chunk)), p, flag, len(chunk))
	if err != nil || !bytes.Equal(out, chunk) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := other.Decompress(nil, p, flag, len(chunk)+1); err == nil {
		t.Fatal("wrong length accepted")
	}
	return flag
}
