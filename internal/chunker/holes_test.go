package chunker

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestClearEdgesOnly: with ClearEdgesOnly a hole's first HoleMin bytes and
// its last partial ZeroBlock are cleared, its interior is left alone;
// without it, the whole hole is cleared.
func TestClearEdgesOnly(t *testing.T) {
	for _, tc := range []struct {
		a, b int // the hole, in a buffer of 1 MiB
	}{
		{0, 1 << 20},                   // whole buffer
		{4096, 4096 + HoleMin},         // short: all of it
		{8192, 8192 + HoleMin + 4096},  // one block past the head: all of it
		{1000, 500000},                 // unaligned start: its head is HoleMin from a
		{65536, 700000 + 1024},         // a 1 KiB tail past a ZeroBlock boundary
		{12288, 12288 + 5*HoleMin + 1}, // one byte past
	} {
		for _, edges := range []bool{false, true} {
			buf := make([]byte, 1<<20)
			for i := range buf {
				buf[i] = 0xa5
			}
			h := &HoleProbe{edges: edges}
			h.clearHole(buf, tc.a, tc.b)
			tail := tc.b / ZeroBlock * ZeroBlock
			for i, x := range buf {
				in := i >= tc.a && i < tc.b
				mustClear := in && (!edges || i < tc.a+HoleMin || i >= tail || tc.b-tc.a <= HoleMin+ZeroBlock)
				switch {
				case mustClear && x != 0:
					t.Fatalf("hole [%d,%d) edges=%v: byte %d not cleared", tc.a, tc.b, edges, i)
				case !in && x == 0:
					t.Fatalf("hole [%d,%d) edges=%v: byte %d outside it cleared", tc.a, tc.b, edges, i)
				case in && !mustClear && x == 0:
					t.Fatalf("hole [%d,%d) edges=%v: interior byte %d cleared", tc.a, tc.b, edges, i)
				}
			}
		}
	}
}

type fileReader struct {
	f       *os.File
	skipped int64
}

func (r *fileReader) Skipped(n int64) { r.skipped += n }

func (r *fileReader) ReadAt(b []byte, off int64) (int, error) { return r.f.ReadAt(b, off) }
func (r *fileReader) File() *os.File                          { return r.f }

// TestHoleProbeFinds: a probe is made for a regular file, directly or
// through a FileReader, and for nothing else; a reader that counts is told
// the holes skipped.
func TestHoleProbeFinds(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 20); err != nil {
		t.Fatal(err)
	}
	if NewHoleProbe(f) == nil || NewHoleProbe(&fileReader{f: f}) == nil {
		t.Fatal("no probe for a regular file")
	}
	if NewHoleProbe(&fileReader{}) != nil || NewHoleProbe(bytes.NewReader(nil)) != nil {
		t.Fatal("a probe for something that is no file")
	}
	r := &fileReader{f: f}
	holes, err := NewHoleProbe(r).Read(r, make([]byte, 1<<20), 0, nil)
	if err != nil || len(holes) != 1 || holes[0] != (Span{0, 1 << 20}) {
		t.Fatalf("holes of an empty sparse file: %v, %v", holes, err)
	}
	if r.skipped != 1<<20 {
		t.Fatalf("the reader was told of %d bytes skipped, want %d", r.skipped, 1<<20)
	}
}
