package codec

import (
	"bytes"
	"testing"
)

// TestZstdBothEncoders: the Go encoder and, in a cgo build, the C library's
// write frames that the (Go) decoder reads back, at every level.
func TestZstdBothEncoders(t *testing.T) {
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog, 0123456789\n"), 2000)
	saved := native
	defer func() { native = saved }()
	for _, enc := range []struct {
		name   string
		native func(lv zstdLevel) Encoder
	}{{"go", nil}, {"build's own", saved}} {
		native = enc.native
		for _, level := range []string{"fastest", "default", "better"} {
			c, err := New("zstd", level, 256<<10, 2)
			if err != nil {
				t.Fatal(err)
			}
			z, flag := c.Compress(nil, text)
			if flag != zstdFlag || len(z) >= len(text)/4 {
				t.Fatalf("%s encoder, %s: flag %d, %d bytes of %d", enc.name, level, flag, len(z), len(text))
			}
			out, err := c.Decompress(make([]byte, 0, len(text)), z, flag, len(text))
			if err != nil || !bytes.Equal(out, text) {
				t.Fatalf("%s encoder, %s: round trip: %v", enc.name, level, err)
			}
			c.Close()
		}
	}
	if ZstdEncoder() == "" {
		t.Fatal("no encoder name")
	}
}
