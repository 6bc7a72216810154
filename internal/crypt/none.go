package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"

	"github.com/zeebo/blake3"
)

// None is the name of the cipher without secrecy: plaintext and a MAC
// with a fixed, public key, which detects damage, not forgery. It must be
// chosen explicitly.
const None = "none"

func init() { register(spec{name: None, mode: "BLAKE3 MAC (no secrecy)", new: newNone}) }

// newNone ignores key: the MAC key is derived from 32 zero bytes
// (docs/format.md, section 3).
func newNone([]byte) (cipher.AEAD, error) {
	var k [32]byte
	blake3.DeriveKey(ctxNoneMAC, make([]byte, KeySize), k[:])
	return noneAEAD{key: k}, nil
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
