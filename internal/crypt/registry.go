package crypt

import (
	"crypto/cipher"

	"rb_module_rustack/internal/registry"
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
var ciphers registry.Registry[Cipher]

// spec is a cipher as its file registers it.
type spec struct {
	name    string
	keySize int
	def     bool
	new     func(key [32]byte) (cipher.AEAD, error)
}

func (s spec) Name() string                          { return s.name }
func (s spec) KeySize() int                          { return s.keySize }
func (s spec) Default() bool                         { return s.def }
func (s spec) New(key [32]byte) (cipher.AEAD, error) { return s.new(key) }

// register adds a cipher; called from init.
func register(s spec) { ciphers.Add(s) }

// Ciphers returns every cipher, the default first, then by name.
func Ciphers() []Cipher { return ciphers.List() }

// Lookup finds a cipher by name.
func Lookup(name string) (Cipher, bool) { return ciphers.Lookup(name) }

// Names are the names of every cipher, in Ciphers order.
func Names() []string { return ciphers.Names() }

// ValidCipher reports whether name is a known cipher.
func ValidCipher(name string) bool {
	_, ok := Lookup(name)
	return ok
}
