package chunker

import (
	mrand "math/rand/v2"
	"testing"
)

// TestChunkerScanMatchesBytewise checks the unrolled scan against the plain
// byte-by-byte gear hash: same cut, same hash, for every mask width, start
// and length, on random bytes and on bytes that cut often.
func TestChunkerScanMatchesBytewise(t *testing.T) {
	var seed [32]byte
	seed[0] = 1
	c, err := NewChunker(DefaultChunkMin, DefaultChunkAvg, DefaultChunkMax, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(7, 8))
	buf := make([]byte, 1<<16)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	cuts := 0
	for trial := range 4000 {
		bits := 1 + trial%20
		mask := ^uint64(0) << (64 - bits)
		start := r.IntN(64)
		end := start + r.IntN(len(buf)-start)
		h0 := r.Uint64()
		gi, gh, gok := c.scan(buf[:end], start, h0, mask)
		wi, wh, wok := c.scanBytes(buf[:end], start, h0, mask)
		if gi != wi || gh != wh || gok != wok {
			t.Fatalf("bits %d start %d end %d: scan = (%d, %x, %v), byte by byte (%d, %x, %v)", bits, start, end, gi, gh, gok, wi, wh, wok)
		}
		if gok {
			cuts++
		}
	}
	if cuts < 1000 {
		t.Fatalf("only %d of 4000 scans cut: the test does not exercise the cut paths", cuts)
	}
}
