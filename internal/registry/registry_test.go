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

func TestNaturalCompare(t *testing.T) {
	names := []string{"threefish-1024", "aes-256", "threefish-256", "kuznyechik-mgm-256", "threefish-512", "aes-128", "kuznyechik-256", "x10", "x9", "x09"}
	slices.SortFunc(names, NaturalCompare)
	want := []string{"aes-128", "aes-256", "kuznyechik-256", "kuznyechik-mgm-256", "threefish-256", "threefish-512", "threefish-1024", "x9", "x09", "x10"}
	if !slices.Equal(names, want) {
		t.Fatalf("%v, want %v", names, want)
	}
}
