package codec_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/enginetest"
)

func TestS2(t *testing.T) {
	for _, level := range []string{"", "fastest", "better"} {
		c := enginetest.Codec(t, "s2", level, 256<<10, 2)
		if f := roundTrip(t, c, enginetest.Text(100<<10)); f != 2 {
			t.Fatalf("level %q: text stored with flag %d, want 2 (s2)", level, f)
		}
		if f := roundTrip(t, c, enginetest.Random(64<<10)); f != codec.Raw {
			t.Fatalf("level %q: random data stored with flag %d, want raw", level, f)
		}
	}
	if _, err := codec.New("s2", "default", 1<<20, 1); err == nil || !strings.Contains(err.Error(), "want fastest or better") {
		t.Fatalf("s2 level default: %v", err)
	}
	other := enginetest.Codec(t, "zstd", "", 1<<20, 1)
	if _, err := other.Decompress(nil, []byte("not s2 at all"), 2, 13); err == nil {
		t.Fatal("a damaged s2 payload decoded")
	}
	// A block that claims 1 GiB is refused before anything is allocated.
	huge := s2.Encode(nil, bytes.Repeat([]byte{7}, 64))
	huge = append([]byte{0x80, 0x80, 0x80, 0x80, 0x04}, huge[1:]...)
	if _, err := other.Decompress(nil, huge, 2, 64); err == nil || !strings.Contains(err.Error(), "more than a chunk") {
		t.Fatalf("a block claiming 1 GiB: %v", err)
	}
}

// FuzzS2Decode: no payload makes the decoder panic or return a chunk of
// another length than the one asked for without an error.
func FuzzS2Decode(f *testing.F) {
	f.Add(s2.Encode(nil, enginetest.Text(4<<10)), 4<<10)
	f.Add(s2.EncodeBetter(nil, bytes.Repeat([]byte("ab"), 300)), 600)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 10)
	c, err := codec.New("none", "", 1<<20, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte, plen int) {
		if plen < 0 || plen > 1<<20 {
			return
		}
		out, err := c.Decompress(make([]byte, 0, plen), payload, 2, plen)
		if err == nil && len(out) != plen {
			t.Fatalf("decoded %d bytes without an error, want %d", len(out), plen)
		}
	})
}
