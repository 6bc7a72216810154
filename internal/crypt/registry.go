package crypt

import (
	"cmp"
	"crypto/cipher"
	"slices"
)

// Cipher is one AEAD cipher of sealed messages (docs/format.md, section 3).
// Each lives in a file of its own that registers it; adding a cipher is
// adding such a file and its test.
type Cipher interface {
	// Name is the name used in the configuration, in file headers and in
	// manifests. Part of the format: never reused.
	Name() string
	// KeySize is the number of key bytes the cipher uses (0 for none,
	// whose MAC key is fixed); data keys are 32 bytes.
	KeySize() int
	// Default reports whether this is the cipher of new data when none is
	// chosen. Exactly one registered cipher is.
	Default() bool
	// New returns the AEAD keyed with key. Its nonces are random, so its
	// NonceSize must be 0 or large enough for random nonces (12 bytes).
	New(key [32]byte) (cipher.AEAD, error)
}

// ciphers is the registry, filled by the init functions of the cipher
// files and read-only afterwards.
var ciphers []Cipher

// register adds c; called from init.
func register(c Cipher) {
	if _, ok := Lookup(c.Name()); ok {
		panic("crypt: cipher " + c.Name() + " registered twice")
	}
	ciphers = append(ciphers, c)
	slices.SortFunc(ciphers, func(x, y Cipher) int {
		if x.Default() != y.Default() {
			if x.Default() {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.Name(), y.Name())
	})
}

// Ciphers returns every cipher, the default first, then by name.
func Ciphers() []Cipher { return slices.Clone(ciphers) }

// Lookup finds a cipher by name.
func Lookup(name string) (Cipher, bool) {
	for _, c := range ciphers {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// Names are the names of every cipher, in Ciphers order.
func Names() []string {
	var n []string
	for _, c := range ciphers {
		n = append(n, c.Name())
	}
	return n
}

// ValidCipher reports whether name is a known cipher.
func ValidCipher(name string) bool {
	_, ok := Lookup(name)
	return ok
}
