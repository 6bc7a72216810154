package codec_test

import (
	"testing"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/enginetest"
)

func TestNone(t *testing.T) {
	c := enginetest.Codec(t, "none", "better", 1<<20, 1) // a level is ignored
	if f := roundTrip(t, c, enginetest.Text(100<<10)); f != codec.Raw {
		t.Fatalf("none stored text with flag %d", f)
	}
	if c.CanDecode(codec.Raw) {
		t.Fatal("raw payloads need no decoder")
	}
}
