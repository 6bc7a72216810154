package chunk

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

func TestMakeApplyPatch(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(300<<10)
		old := make([]byte, n)
		for i := range old {
			old[i] = byte(r.Uint32())
		}
		cur := bytes.Clone(old)
		phase := r.IntN(4096)
		changed := 0
		for range r.IntN(6) {
			// A sector-aligned write (disk alignment: phase), sometimes
			// of bytes equal to the old ones.
			s := (r.IntN(n) + phase) / PatchGranule * PatchGranule
			lo, hi := max(0, s-phase), min(n, s-phase+PatchGranule*(1+r.IntN(8)))
			for i := lo; i < hi; i++ {
				if r.IntN(3) > 0 {
					cur[i] = byte(r.Uint32())
				}
			}
		}
		for i := range cur {
			if cur[i] != old[i] {
				changed++
			}
		}
		p, lit := MakePatch(nil, old, cur, phase)
		if lit < changed {
			t.Fatalf("trial %d: patch carries %d bytes, %d changed", trial, lit, changed)
		}
		if changed == 0 && lit != 0 {
			t.Fatalf("trial %d: nothing changed, patch carries %d bytes", trial, lit)
		}
		out := bytes.Clone(old)
		if err := ApplyPatch(out, p); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if !bytes.Equal(out, cur) {
			t.Fatalf("trial %d: patched bytes differ", trial)
		}
		if len(p) > 8 {
			if err := ApplyPatch(out, p[:len(p)-1]); !errors.Is(err, ErrDamaged) {
				t.Fatalf("trial %d: truncated patch: %v", trial, err)
			}
		}
	}
}

func TestDeltaEncoding(t *testing.T) {
	id := func(b byte) ID { var x ID; x[0], x[31] = b, b; return x }
	d := &Delta{Patch: id(1), PatchLen: 99, Bases: []Base{
		{Off: -1000, Len: 5000, ID: id(2)},
		{Off: 4000, Len: 60000, ID: id(3), Delta: &Delta{Patch: id(4), PatchLen: 7, Bases: []Base{{Off: 0, Len: 60000, ID: id(5)}}}},
	}}
	b := AppendDelta([]byte{0xEE}, d)
	got, rest, err := ParseDelta(b[1:], 64<<10)
	if err != nil || len(rest) != 0 {
		t.Fatalf("parse: %v, %d left", err, len(rest))
	}
	if !bytes.Equal(AppendDelta(nil, got), b[1:]) || got.Depth() != 2 {
		t.Fatalf("round trip differs (depth %d)", got.Depth())
	}
	var blobs []ID
	Run{Len: 64 << 10, ID: id(9), Delta: got}.Blobs(func(x ID, _ int64) { blobs = append(blobs, x) })
	if len(blobs) != 4 || blobs[0] != id(1) || blobs[1] != id(2) || blobs[2] != id(4) || blobs[3] != id(5) {
		t.Fatalf("blobs %v", blobs)
	}
	// A base that does not overlap the chunk, nesting too deep.
	if _, _, err := ParseDelta(b[1:], 500); err == nil {
		t.Fatal("a delta whose bases lie outside a 500-byte chunk was accepted")
	}
	deep := &Delta{Patch: id(1), PatchLen: 1, Bases: []Base{{Off: 0, Len: 10, ID: id(2)}}}
	for range MaxDeltaDepth {
		deep = &Delta{Patch: id(1), PatchLen: 1, Bases: []Base{{Off: 0, Len: 10, ID: id(2), Delta: deep}}}
	}
	if _, _, err := ParseDelta(AppendDelta(nil, deep), 10); !errors.Is(err, ErrDamaged) {
		t.Fatalf("nesting %d deep: %v", deep.Depth(), err)
	}
}

// FuzzDelta feeds untrusted bytes (a manifest's delta, a patch chunk) to
// the parsers: they never panic, a parsed delta re-encodes to the bytes it
// came from, and a patch never writes outside its chunk.
func FuzzDelta(f *testing.F) {
	id := ID{7}
	f.Add(AppendDelta(nil, &Delta{Patch: id, PatchLen: 3, Bases: []Base{{Off: -5, Len: 20, ID: id}}}), uint16(16))
	p, _ := MakePatch(nil, make([]byte, 4096), bytes.Repeat([]byte{1}, 4096), 0)
	f.Add(p, uint16(4096))
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		if d, rest, err := ParseDelta(b, int64(n)+1); err == nil {
			if got := AppendDelta(nil, d); !bytes.Equal(got, b[:len(b)-len(rest)]) {
				t.Fatal("re-encoded delta differs")
			}
			if d.Depth() > MaxDeltaDepth {
				t.Fatal("too deep")
			}
		}
		out := make([]byte, int(n)+16)
		for i := range out {
			out[i] = 0xAB
		}
		if err := ApplyPatch(out[8:len(out)-8], b); err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("error %v is not ErrDamaged", err)
		}
		for i := range 8 {
			if out[i] != 0xAB || out[len(out)-1-i] != 0xAB {
				t.Fatal("patch wrote outside its chunk")
			}
		}
	})
}
