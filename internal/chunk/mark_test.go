package chunk

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

func TestMarks(t *testing.T) {
	m := NewMarks(130)
	if len(m) != 3 {
		t.Fatalf("%d words for 130 marks", len(m))
	}
	var wg sync.WaitGroup
	for i := range 130 {
		if i%3 == 0 {
			wg.Add(1)
			go func() { defer wg.Done(); m.Set(i) }()
		}
	}
	wg.Wait()
	for i := range 130 {
		if m.Has(i) != (i%3 == 0) {
			t.Fatalf("mark %d: %v", i, m.Has(i))
		}
	}
	if m.Count() != 44 {
		t.Fatalf("count %d, want 44", m.Count())
	}
	m.Clear(129)
	m.Clear(0)
	if m.Has(129) || m.Has(0) || m.Count() != 42 {
		t.Fatal("clear")
	}
}

// TestSearchEntries compares the interpolating lower bound with
// sort.Search, on uniform ids with repeats and on skewed ids that defeat
// interpolation.
func TestSearchEntries(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 9, 100, 5000} {
		for _, skew := range []bool{false, true} {
			es := make([]IndexEntry, n)
			for i := range es {
				rand.Read(es[i].ID[:])
				if skew && i%2 == 0 {
					es[i].ID[0], es[i].ID[1], es[i].ID[2] = 0, 0, 0 // half the ids crowd the bottom
				}
				if i > 0 && r.IntN(4) == 0 {
					es[i].ID = es[i-1].ID // a chunk in two packs
				}
			}
			slices.SortFunc(es, func(a, b IndexEntry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
			probes := []ID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
			for range 300 {
				var id ID
				rand.Read(id[:])
				probes = append(probes, id)
			}
			for _, e := range es {
				probes = append(probes, e.ID)
				x := e.ID
				x[31]++
				probes = append(probes, x)
			}
			for _, id := range probes {
				want := sort.Search(len(es), func(i int) bool { return bytes.Compare(es[i].ID[:], id[:]) >= 0 })
				if got := SearchEntries(es, id); got != want {
					t.Fatalf("n=%d skew=%v: SearchEntries(%s) = %d, want %d", n, skew, id.Short(), got, want)
				}
			}
		}
	}
}

func TestEncodeIndexFunc(t *testing.T) {
	packs := []ID{{1}, {2}}
	es := []IndexEntry{{ID: ID{3}, Pack: 1, Off: 100, CLen: 20, PLen: 10}, {ID: ID{4}, Pack: 0, Off: 7, CLen: 1, PLen: 0}}
	i := 0
	got := EncodeIndexFunc(packs, len(es), func() IndexEntry { i++; return es[i-1] })
	want := EncodeIndex(packs, es)
	if !bytes.Equal(got, want) || cap(got) != len(got) {
		t.Fatalf("EncodeIndexFunc differs from EncodeIndex (len %d cap %d, want len %d)", len(got), cap(got), len(want))
	}
}
