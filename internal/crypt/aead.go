package crypt

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// ErrAuth means a sealed message failed its integrity check: it was damaged
// or altered (or, when the key check passed, written by a buggy writer).
var ErrAuth = errors.New("authentication failed (data damaged or altered)")

// Sealer seals and opens messages of one file with one derived key. A sealed
// message is nonce || ciphertext || tag (the nonce is random, 12 bytes; the
// "none" cipher has no nonce and a 16-byte BLAKE3 MAC as tag). Safe for
// concurrent use.
type Sealer struct {
	name string
	aead cipher.AEAD
}

// NewSealer returns a sealer for cipher name (or an alias of it) keyed with
// the data key key (32 bytes, turned into the cipher's key by CipherKey;
// ignored for "none", whose MAC key is fixed and documented).
func NewSealer(name string, key [32]byte) (*Sealer, error) {
	c, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown cipher %q (want one of %s)", name, strings.Join(Names(), ", "))
	}
	ck, err := CipherKey(c, key)
	if err != nil {
		return nil, err
	}
	a, err := c.New(ck)
	if err != nil {
		return nil, fmt.Errorf("cipher %s: %w", c.Name(), err)
	}
	return &Sealer{name: c.Name(), aead: a}, nil
}

// Name is the cipher's name.
func (s *Sealer) Name() string { return s.name }

// Overhead is the number of bytes a sealed message adds to its plaintext.
func (s *Sealer) Overhead() int { return s.aead.NonceSize() + s.aead.Overhead() }

// Seal appends nonce || seal(plaintext, ad) to dst and returns it.
func (s *Sealer) Seal(dst, plaintext, ad []byte) []byte {
	ns := s.aead.NonceSize()
	off := len(dst)
	need := ns + len(plaintext) + s.aead.Overhead()
	if cap(dst)-off < need {
		nd := make([]byte, off, off+need)
		copy(nd, dst)
		dst = nd
	}
	dst = dst[:off+ns]
	if ns > 0 {
		if _, err := rand.Read(dst[off:]); err != nil {
			panic("crypt: no randomness: " + err.Error()) // crypto/rand never fails on Linux
		}
		if f, ok := s.aead.(nonceFixer); ok {
			f.fixNonce(dst[off:])
		}
	}
	return s.aead.Seal(dst, dst[off:off+ns], plaintext, ad)
}

// Open checks and decrypts a sealed message, appending the plaintext to dst.
// It returns ErrAuth when the message is damaged, altered or too short.
func (s *Sealer) Open(dst, sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, ErrAuth
	}
	out, err := s.aead.Open(dst, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// nonceFixer is an AEAD whose nonces are not every string of NonceSize
// bytes (MGM's are 127 bits in 16 bytes): the sealer lets it fix a random
// nonce before use.
type nonceFixer interface {
	fixNonce(nonce []byte)
}
