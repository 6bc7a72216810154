package backup

import (
	"os"
	"path/filepath"
	"testing"

	"rb_module_rustack/internal/chunker"
)

// TestImageHoleProbe: an opened image is read through a reader that names
// its file, so the pipeline's hole probe still skips a sparse image's
// holes, also when its reads are counted for progress bars.
func TestImageHoleProbe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	im, err := OpenImage("vda", path)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if im.Size != 1<<20 {
		t.Fatalf("size %d", im.Size)
	}
	if chunker.NewHoleProbe(im.f) == nil {
		t.Fatal("no hole probe for an image file")
	}
	// Under the progress counter too.
	if chunker.NewHoleProbe(newCountingReader(im.f, "vda", im.Size, func(string, int64, int64) {})) == nil {
		t.Fatal("no hole probe for an image file read with progress")
	}
}
