package archive

import (
	"slices"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
)

func TestCopyOrder(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	list := []Info{
		{ID: "a-full", VMID: "a", VMName: "web", Type: Full, Created: at(0)},
		{ID: "a-inc1", VMID: "a", VMName: "web", Type: Incremental, Parent: "a-full", Created: at(1)},
		{ID: "a-diff", VMID: "a", VMName: "web", Type: Differential, Parent: "a-full", Created: at(2)},
		{ID: "a-inc2", VMID: "a", VMName: "web", Type: Incremental, Parent: "a-diff", Created: at(3)},
		{ID: "b-full", VMID: "b", VMName: "db", Type: Full, Created: at(1)},
		{ID: "c-inc", VMID: "c", VMName: "old", Type: Incremental, Parent: "c-forgotten", Created: at(2)},
		{ID: "x-bad", Type: "damaged", Created: at(5)},
	}
	for _, c := range []struct {
		name     string
		ids, vms []string
		want     []string
		missing  []string
	}{
		{"all, parents first, damaged left out", nil, nil, []string{"a-full", "a-inc1", "b-full", "a-diff", "c-inc", "a-inc2"}, []string{"c-forgotten"}},
		{"an incremental brings its chain", []string{"a-inc2"}, nil, []string{"a-full", "a-diff", "a-inc2"}, nil},
		{"named twice, with its parent", []string{"a-inc1", "a-full", "a-inc1"}, nil, []string{"a-full", "a-inc1"}, nil},
		{"by VM name", nil, []string{"db"}, []string{"b-full"}, nil},
		{"by VM id", nil, []string{"a"}, []string{"a-full", "a-inc1", "a-diff", "a-inc2"}, nil},
		{"a parent the source no longer has", []string{"c-inc"}, nil, []string{"c-inc"}, []string{"c-forgotten"}},
	} {
		got, missing, err := copyOrder(list, c.ids, c.vms)
		if err != nil || !slices.Equal(got, c.want) || !slices.Equal(missing, c.missing) {
			t.Errorf("%s: got %v missing %v (%v), want %v missing %v", c.name, got, missing, err, c.want, c.missing)
		}
	}
	for _, c := range []struct{ ids, vms []string }{{[]string{"nosuch"}, nil}, {nil, []string{"nosuch"}}} {
		if _, _, err := copyOrder(list, c.ids, c.vms); err == nil {
			t.Errorf("%v %v: no error", c.ids, c.vms)
		}
	}
	if _, _, err := copyOrder(list, []string{"x-bad"}, nil); err == nil {
		t.Error("a damaged archive named: no error")
	}
}

func TestMissingChunks(t *testing.T) {
	id := func(b byte) chunk.ID { return chunk.ID{b} }
	runs := [][]chunk.Run{
		{{ID: id(1), Len: 10}, {Hole: true, Len: 5}, {ID: id(2), Len: 10}, {ID: id(1), Len: 10}},
		{{ID: id(3), Len: 10}, {ID: id(2), Len: 10}, {ID: id(4), Len: 10}},
	}
	asked := map[chunk.ID]int{}
	have := func(x chunk.ID) bool { asked[x]++; return x == id(2) || x == id(4) }
	got := missingChunks(runs, have)
	if !slices.Equal(got, []chunk.ID{id(1), id(3)}) {
		t.Fatalf("missing %v", got)
	}
	for x, n := range asked {
		if n != 1 {
			t.Errorf("chunk %x asked %d times", x[0], n)
		}
	}
	if got := missingChunks(runs, func(chunk.ID) bool { return true }); len(got) != 0 {
		t.Errorf("a target with everything: %v", got)
	}
}
