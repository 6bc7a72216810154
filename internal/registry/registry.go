package registry

import (
	"cmp"
	"slices"
	"strings"
)

// Entry is what a registry holds.
type Entry interface {
	Name() string
	Default() bool
}

// Registry holds entries by name. It is filled by init functions and
// read-only afterwards, so reads need no lock.
type Registry[T Entry] struct {
	items []T
}

// Add adds e; a second entry of the same name panics (a programming error
// found by any test).
func (r *Registry[T]) Add(e T) {
	if _, ok := r.Lookup(e.Name()); ok {
		panic("registry: " + e.Name() + " registered twice")
	}
	r.items = append(r.items, e)
	slices.SortFunc(r.items, func(x, y T) int {
		if x.Default() != y.Default() {
			if x.Default() {
				return -1
			}
			return 1
		}
		return NaturalCompare(x.Name(), y.Name())
	})
}

// NaturalCompare orders names with their runs of digits compared as
// numbers, so "threefish-256" sorts before "threefish-1024".
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			if c := cmp.Compare(da, db); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// digits is the length of the run of ASCII digits that s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// List returns every entry, the default first, then by name.
func (r *Registry[T]) List() []T { return slices.Clone(r.items) }

// Lookup finds an entry by name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	for _, e := range r.items {
		if e.Name() == name {
			return e, true
		}
	}
	var zero T
	return zero, false
}

// Names are the names of every entry, in List order.
func (r *Registry[T]) Names() []string {
	var n []string
	for _, e := range r.items {
		n = append(n, e.Name())
	}
	return n
}
