package restore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestDeviceWriterZeroes(t *testing.T) {
	for _, plain := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "dev")
		junk := bytes.Repeat([]byte{0xAB}, 1<<20)
		if err := os.WriteFile(p, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w := newDeviceWriter(f, plain)
		zeros := make([]byte, 256<<10)
		data := bytes.Repeat([]byte{7}, 256<<10)
		writes := []struct {
			off int64
			b   []byte
		}{
			{0, zeros},                    // aligned zero range
			{256 << 10, data},             // data
			{512<<10 + 512, zeros[:8192]}, // short and unaligned: written
			{768 << 10, zeros},            // last range, file keeps its size
		}
		for _, x := range writes {
			if n, err := w.WriteAt(x.b, x.off); err != nil || n != len(x.b) {
				t.Fatalf("WriteAt(%d, %d): %d, %v", x.off, len(x.b), n, err)
			}
		}
		f.Close()
		got, _ := os.ReadFile(p)
		want := append([]byte(nil), junk...)
		for _, x := range writes {
			copy(want[x.off:], x.b)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("plain=%v: contents differ", plain)
		}
		if plain && w.zeroed.Load() != 0 {
			t.Errorf("plain writer zeroed %d bytes by fallocate", w.zeroed.Load())
		}
		t.Logf("plain=%v: %d bytes zeroed by the kernel (0 where the file system lacks FALLOC_FL_ZERO_RANGE)", plain, w.zeroed.Load())
	}
}
