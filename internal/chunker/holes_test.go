package chunker

import "testing"

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
