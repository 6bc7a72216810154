package registry

import (
	"cmp"
	"slices"
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
		return cmp.Compare(x.Name(), y.Name())
	})
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
