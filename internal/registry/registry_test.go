package registry

import (
	"slices"
	"testing"
)

type entry struct {
	name string
	def  bool
}

func (e entry) Name() string  { return e.name }
func (e entry) Default() bool { return e.def }

func TestRegistry(t *testing.T) {
	var r Registry[entry]
	for _, e := range []entry{{"b", false}, {"z", true}, {"a", false}} {
		r.Add(e)
	}
	if got := r.Names(); !slices.Equal(got, []string{"z", "a", "b"}) {
		t.Fatalf("names %v: want the default first, then by name", got)
	}
	if e, ok := r.Lookup("a"); !ok || e.name != "a" {
		t.Fatal("lookup a")
	}
	if _, ok := r.Lookup("c"); ok {
		t.Fatal("lookup of an absent name")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second entry of a name was accepted")
		}
	}()
	r.Add(entry{"a", false})
}
