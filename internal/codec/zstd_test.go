package codec_test

import (
	"testing"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/enginetest"
)

func TestZstd(t *testing.T) {
	for _, level := range []string{"", "fastest", "default", "better"} {
		c := enginetest.Codec(t, "zstd", level, 256<<10, 2)
		if f := roundTrip(t, c, enginetest.Text(100<<10)); f != 1 {
			t.Fatalf("level %q: text stored with flag %d, want 1 (zstd)", level, f)
		}
		if f := roundTrip(t, c, enginetest.Random(64<<10)); f != codec.Raw {
			t.Fatalf("level %q: random data stored with flag %d, want raw", level, f)
		}
	}
	if _, err := enginetest.Codec(t, "none", "", 1<<20, 1).Decompress(nil, []byte("not zstd"), 1, 8); err == nil {
		t.Fatal("a damaged zstd payload decoded")
	}
}
