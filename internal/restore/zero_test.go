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
		junk := bytes.Repeat([]byte{0xAB}, 5<<19)
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
		// A piece mixing data and holes: 100 B data, zeros to 200 KiB (an
		// aligned zero run from 4 KiB), data to the end.
		mixed := make([]byte, 256<<10)
		copy(mixed, bytes.Repeat([]byte{9}, 100))
		copy(mixed[200<<10:], bytes.Repeat([]byte{5}, 56<<10))
		writes := []struct {
			off int64
			b   []byte
		}{
			{0, zeros},                        // aligned zero range
			{256 << 10, data},                 // data
			{512<<10 + 512, zeros[:8192]},     // short and unaligned: written
			{600 << 10, mixed[:100<<10]},      // mixed, zero run of 96 KiB
			{768<<10 + 1000, mixed[:200<<10]}, // unaligned start: zero run from the first aligned block
			{1 << 20, zeros},                  // past... (grown below)
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
		// 256 KiB + 96 KiB + 49 blocks of 4 KiB + 256 KiB, where the file
		// system supports FALLOC_FL_ZERO_RANGE (ext4, xfs); 0 elsewhere.
		if z := w.zeroed.Load(); !plain && z != 0 && z != (256+96+196+256)<<10 {
			t.Errorf("zeroed %d bytes by fallocate, want %d", z, (256+96+196+256)<<10)
		}
		if plain && w.zeroed.Load() != 0 {
			t.Errorf("plain writer zeroed %d bytes by fallocate", w.zeroed.Load())
		}
		t.Logf("plain=%v: %d bytes zeroed by the kernel (0 where the file system lacks FALLOC_FL_ZERO_RANGE)", plain, w.zeroed.Load())
	}
}
