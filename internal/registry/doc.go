// Package registry is the generic named-algorithm registry behind the
// cipher registry (internal/crypt) and the codec registry (internal/codec):
// entries with unique names, one of them the default, listed default first
// and then by name.
//
// It must not know what its entries are.
package registry
