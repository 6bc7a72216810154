package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20poly1305"
)

// Cipher names.
const (
	AES256GCM        = "aes-256-gcm"
	ChaCha20Poly1305 = "chacha20-poly1305"
	None             = "none"
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

// ValidCipher reports whether name is a known cipher.
func ValidCipher(name string) bool {
	return name == AES256GCM || name == ChaCha20Poly1305 || name == None
}

// NewSealer returns a sealer for cipher name keyed with key (32 bytes; ignored
// for "none", whose MAC key is fixed and documented).
func NewSealer(name string, key [32]byte) (*Sealer, error) {
	var a cipher.AEAD
	switch name {
	case AES256GCM:
		b, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, fmt.Errorf("aes: %w", err)
		}
		if a, err = cipher.NewGCM(b); err != nil {
			return nil, fmt.Errorf("gcm: %w", err)
		}
	case ChaCha20Poly1305:
		var err error
		if a, err = chacha20poly1305.New(key[:]); err != nil {
			return nil, fmt.Errorf("chacha20-poly1305: %w", err)
		}
	case None:
		var k [32]byte
		blake3.DeriveKey(ctxNoneMAC, make([]byte, KeySize), k[:])
		a = noneAEAD{key: k}
	default:
		return nil, fmt.Errorf("unknown cipher %q (want %s, %s or %s)", name, AES256GCM, ChaCha20Poly1305, None)
	}
	return &Sealer{name: name, aead: a}, nil
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

// noneAEAD is the "none" cipher: no secrecy, but a 16-byte keyed BLAKE3 MAC
// (with a fixed public key) over len(ad) || ad || plaintext detects damage.
type noneAEAD struct{ key [32]byte }

const noneTag = 16

func (noneAEAD) NonceSize() int { return 0 }
func (noneAEAD) Overhead() int  { return noneTag }

func (n noneAEAD) tag(ad, plaintext []byte) [noneTag]byte {
	h, _ := blake3.NewKeyed(n.key[:])
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(len(ad)))
	h.Write(l[:])
	h.Write(ad)
	h.Write(plaintext)
	var t [noneTag]byte
	h.Digest().Read(t[:])
	return t
}

func (n noneAEAD) Seal(dst, _, plaintext, ad []byte) []byte {
	t := n.tag(ad, plaintext)
	dst = append(dst, plaintext...)
	return append(dst, t[:]...)
}

func (n noneAEAD) Open(dst, _, ct, ad []byte) ([]byte, error) {
	if len(ct) < noneTag {
		return nil, ErrAuth
	}
	p := ct[:len(ct)-noneTag]
	t := n.tag(ad, p)
	if subtle.ConstantTimeCompare(t[:], ct[len(ct)-noneTag:]) != 1 {
		return nil, ErrAuth
	}
	return append(dst, p...), nil
}
