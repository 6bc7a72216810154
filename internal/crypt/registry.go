package crypt

import (
	"crypto/cipher"

	"rb_module_rustack/internal/registry"
)

// Cipher is one AEAD cipher of sealed messages (docs/format.md, section 3).
// Each lives in a file of its own (or in a table of one mode, such as
// gcm.go) that registers it; adding a cipher is adding such an entry and its
// test.
type Cipher interface {
	// Name is the name used in the configuration, in file headers and in
	// manifests. Part of the format: never reused.
	Name() string
	// KeySize is the number of key bytes the cipher uses (0 for none,
	// whose MAC key is fixed). Data keys are 32 bytes; CipherKey turns one
	// into KeySize bytes (docs/format.md, section 3).
	KeySize() int
	// Mode is the AEAD construction, for people: "GCM", "MGM",
	// "CTR+HMAC-SHA-256", "RFC 8439", "BLAKE3 MAC (no secrecy)".
	Mode() string
	// Default reports whether this is the cipher of new data when none is
	// chosen. Exactly one registered cipher is.
	Default() bool
	// New returns the AEAD keyed with key, which is KeySize bytes long.
	// Its nonces are random, so its NonceSize must be 0 or large enough
	// for random nonces (12 bytes or more).
	New(key []byte) (cipher.AEAD, error)
}

// ciphers is the registry, filled by the init functions of the cipher
// files and read-only afterwards.
var ciphers registry.Registry[Cipher]

// aliases maps other accepted spellings to registered names. Files always
// record the registered name.
var aliases = map[string]string{
	"aes-256": AES256GCM,
}

// spec is a cipher as its file registers it.
type spec struct {
	name    string
	keySize int
	mode    string
	def     bool
	new     func(key []byte) (cipher.AEAD, error)
}

func (s spec) Name() string                        { return s.name }
func (s spec) KeySize() int                        { return s.keySize }
func (s spec) Mode() string                        { return s.mode }
func (s spec) Default() bool                       { return s.def }
func (s spec) New(key []byte) (cipher.AEAD, error) { return s.new(key) }

// register adds a cipher; called from init.
func register(s spec) { ciphers.Add(s) }

// Ciphers returns every cipher, the default first, then by family and key
// length (registry order: names compared with their numbers as numbers).
func Ciphers() []Cipher { return ciphers.List() }

// Lookup finds a cipher by name or alias.
func Lookup(name string) (Cipher, bool) { return ciphers.Lookup(Canonical(name)) }

// Canonical returns the registered name of an alias (aes-256 is
// aes-256-gcm), and any other name unchanged.
func Canonical(name string) string {
	if n, ok := aliases[name]; ok {
		return n
	}
	return name
}

// Aliases returns the accepted aliases and the names they stand for.
func Aliases() map[string]string {
	m := make(map[string]string, len(aliases))
	for k, v := range aliases {
		m[k] = v
	}
	return m
}

// Names are the names of every cipher, in Ciphers order (aliases not
// included).
func Names() []string { return ciphers.Names() }

// ValidCipher reports whether name is a known cipher or alias.
func ValidCipher(name string) bool {
	_, ok := Lookup(name)
	return ok
}
