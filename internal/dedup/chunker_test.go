package dedup

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

func testChunker(t testing.TB, min, avg, max int) *Chunker {
	t.Helper()
	var seed [32]byte
	seed[0] = 1
	c, err := NewChunker(min, avg, max, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cutAll(c *Chunker, b []byte) []int {
	var sizes []int
	for len(b) > 0 {
		n := c.Cut(b)
		sizes = append(sizes, n)
		b = b[n:]
	}
	return sizes
}

func TestChunkerSizes(t *testing.T) {
	c := testChunker(t, 16<<10, 64<<10, 256<<10)
	data := make([]byte, 64<<20)
	rand.Read(data)
	sizes := cutAll(c, data)
	total := 0
	for i, s := range sizes {
		total += s
		if s > c.Max() || (s < c.Min() && i != len(sizes)-1) {
			t.Fatalf("chunk %d has size %d outside [%d, %d]", i, s, c.Min(), c.Max())
		}
	}
	if total != len(data) {
		t.Fatalf("chunks cover %d of %d bytes", total, len(data))
	}
	avg := total / len(sizes)
	if avg < 40<<10 || avg > 100<<10 {
		t.Fatalf("average chunk %d bytes, want near 64 KiB", avg)
	}
	t.Logf("%d chunks, average %d bytes", len(sizes), avg)
}

func TestChunkerStreamingEqualsWhole(t *testing.T) {
	// Cut on a prefix of at least Max bytes equals cut on the whole.
	c := testChunker(t, 2<<10, 8<<10, 32<<10)
	data := make([]byte, 1<<20)
	rand.Read(data)
	off := 0
	for off < len(data) {
		whole := c.Cut(data[off:])
		if len(data)-off > c.Max() {
			if p := c.Cut(data[off : off+c.Max()]); p != whole {
				t.Fatalf("at %d: prefix cut %d, whole cut %d", off, p, whole)
			}
		}
		off += whole
	}
}

func TestChunkerResync(t *testing.T) {
	// An insertion changes only the chunks around it.
	c := testChunker(t, 4<<10, 16<<10, 64<<10)
	data := make([]byte, 4<<20)
	rand.Read(data)
	mod := append(append(append([]byte{}, data[:2<<20]...), []byte("inserted bytes")...), data[2<<20:]...)
	set := func(b []byte) map[string]bool {
		m := map[string]bool{}
		for len(b) > 0 {
			n := c.Cut(b)
			m[string(b[:n])] = true
			b = b[n:]
		}
		return m
	}
	a, b := set(data), set(mod)
	diff := 0
	for k := range b {
		if !a[k] {
			diff++
		}
	}
	if diff == 0 || diff > 3 {
		t.Fatalf("%d new chunks after one insertion, want 1..3", diff)
	}
}

func TestChunkerKeyChangesBoundaries(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.Read(data)
	var s1, s2 [32]byte
	s2[0] = 9
	c1, _ := NewChunker(16<<10, 64<<10, 256<<10, s1)
	c2, _ := NewChunker(16<<10, 64<<10, 256<<10, s2)
	if a, b := cutAll(c1, data), cutAll(c2, data); len(a) == len(b) && a[0] == b[0] && a[1] == b[1] {
		t.Fatal("different gear seeds gave the same boundaries")
	}
}

func TestChunkerRejectsBadSizes(t *testing.T) {
	var seed [32]byte
	for _, s := range [][3]int{{0, 64, 256}, {64 << 10, 16 << 10, 256 << 10}, {16 << 10, 64 << 10, 16 << 20}, {8 << 10, 8 << 10, 8 << 10}} {
		if _, err := NewChunker(s[0], s[1], s[2], seed); err == nil {
			t.Errorf("sizes %v accepted", s)
		}
	}
}

func TestIndexLookup(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	var entries []IndexEntry
	want := map[ID]uint64{}
	for i := range 20000 {
		var id ID
		for k := range id {
			id[k] = byte(r.Uint32())
		}
		if i%7 == 0 { // clustered ids share the first 8 bytes
			copy(id[:8], []byte("samepref"))
		}
		entries = append(entries, IndexEntry{ID: id, Off: uint64(i), Pack: uint32(i % 3), CLen: 10, PLen: 9})
		want[id] = uint64(i)
	}
	idx := NewIndex(entries)
	if idx.Len() != len(want) {
		t.Fatalf("index has %d entries, want %d", idx.Len(), len(want))
	}
	for id, off := range want {
		loc, ok := idx.Lookup(id)
		if !ok || loc.Off != off {
			t.Fatalf("lookup %s: %v %v, want offset %d", id.Short(), loc, ok, off)
		}
	}
	for range 20000 {
		var id ID
		for k := range id {
			id[k] = byte(r.Uint32())
		}
		if _, ok := want[id]; ok {
			continue
		}
		if idx.Has(id) {
			t.Fatalf("found absent id %s", id.Short())
		}
	}
	var empty *Index
	if empty.Has(ID{}) || NewIndex(nil).Has(ID{}) {
		t.Fatal("empty index has an id")
	}
}

func TestIndexEncoding(t *testing.T) {
	packs := []ID{{1}, {2}}
	entries := []IndexEntry{{ID: ID{3}, Pack: 1, Off: 100, CLen: 50, PLen: 60}, {ID: ID{1}, Pack: 0, Off: 5, CLen: 7, PLen: 8}}
	entries = SortEntries(entries)
	b := EncodeIndex(packs, entries)
	p2, e2, err := ParseIndex(b, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2) != 2 || p2[1] != packs[1] || len(e2) != 2 || e2[0] != entries[0] || e2[1] != entries[1] {
		t.Fatalf("round trip: %v %v", p2, e2)
	}
	// Unsorted, self references and bad pack numbers are rejected.
	bad := EncodeIndex(packs, []IndexEntry{entries[1], entries[0]})
	if _, _, err := ParseIndex(bad, false); err == nil {
		t.Fatal("unsorted index accepted")
	}
	self := EncodeIndex(nil, []IndexEntry{{ID: ID{1}, Pack: SelfPack, CLen: 1, PLen: 1}})
	if _, _, err := ParseIndex(self, false); err == nil {
		t.Fatal("self reference accepted where not allowed")
	}
	if _, _, err := ParseIndex(self, true); err != nil {
		t.Fatalf("self reference rejected: %v", err)
	}
	if _, _, err := ParseIndex(EncodeIndex(nil, []IndexEntry{{ID: ID{1}, Pack: 0, CLen: 1}}), false); err == nil {
		t.Fatal("reference to a missing pack accepted")
	}
	if !bytes.Equal(EncodeIndex(p2, e2), b) {
		t.Fatal("encoding not deterministic")
	}
}

// TestChunkerScanMatchesBytewise checks the unrolled scan against the plain
// byte-by-byte gear hash: same cut, same hash, for every mask width, start
// and length, on random bytes and on bytes that cut often.
func TestChunkerScanMatchesBytewise(t *testing.T) {
	c := testChunker(t, DefaultChunkMin, DefaultChunkAvg, DefaultChunkMax)
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

// testCodec returns a codec that is closed when the test ends.
func testCodec(t testing.TB, compression, level string, maxChunk, concurrency int) *Codec {
	t.Helper()
	c, err := NewCodec(compression, level, maxChunk, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
