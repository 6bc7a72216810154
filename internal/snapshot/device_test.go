package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"rb_module_rustack/internal/chunker"
)

// TestOpenDevice: the default Open gives a reader that names its file, so
// the pipeline's hole probe still finds a regular-file device (the test
// harness's volumes) under it.
func TestOpenDevice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := openDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if chunker.NewHoleProbe(d) == nil {
		t.Fatal("no hole probe for a regular-file device")
	}
	if _, err := openDevice(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(err) {
		t.Fatalf("open of a missing device: %v", err)
	}
}
