package chunk

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

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

func FuzzParseIndex(f *testing.F) {
	f.Add(EncodeIndex(nil, nil))
	f.Add(EncodeIndex([]ID{{1}}, []IndexEntry{{ID: ID{1}, Pack: 0, Off: 9, CLen: 3, PLen: 2}, {ID: ID{2}, Pack: 0, Off: 12, CLen: 3, PLen: 2}}))
	f.Add(EncodeIndex(nil, []IndexEntry{{ID: ID{1}, Pack: SelfPack, Off: 9, CLen: 3, PLen: 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, self := range []bool{false, true} {
			packs, es, err := ParseIndex(b, self)
			if err != nil {
				continue
			}
			// What parses re-encodes to the same bytes and is consistent.
			if !bytes.Equal(EncodeIndex(packs, es), b) {
				t.Fatal("parsed index does not re-encode to its input")
			}
			for _, e := range es {
				if e.Pack != SelfPack && int(e.Pack) >= len(packs) {
					t.Fatal("entry refers to a pack not listed")
				}
			}
		}
	})
}

func BenchmarkHash64K(b *testing.B) {
	h := NewIDHasher([32]byte{1})
	buf := make([]byte, 64<<10)
	rand.Read(buf)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Sum(buf)
	}
}
