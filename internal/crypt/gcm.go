package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// gcm is GCM (NIST SP 800-38D) over any block cipher of 16-byte blocks,
// with 12-byte nonces and 16-byte tags, and a constant-time GHASH
// (gf128.go). crypto/cipher.NewGCM gives the same output but, for block
// ciphers other than crypto/aes, computes GHASH with secret-indexed table
// lookups; crypto/aes with AES instructions uses PCLMULQDQ and needs none
// of this (aes-128 and aes-256-gcm use it).
type gcm struct {
	b cipher.Block
	h ghashKey
}

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

func newGCM(b cipher.Block) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("gcm needs a block cipher of 16-byte blocks")
	}
	var h [16]byte
	b.Encrypt(h[:], h[:])
	return &gcm{b: b, h: newGHASHKey(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:]))}, nil
}

func (*gcm) NonceSize() int { return gcmNonceSize }
func (*gcm) Overhead() int  { return gcmTagSize }

// ghashBlocks absorbs b, zero-padded to whole blocks, into (y1, y0).
func (g *gcm) ghashBlocks(y1, y0 uint64, b []byte) (uint64, uint64) {
	for len(b) > 0 {
		var blk [16]byte
		n := copy(blk[:], b)
		b = b[n:]
		y1 ^= binary.BigEndian.Uint64(blk[:8])
		y0 ^= binary.BigEndian.Uint64(blk[8:])
		y1, y0 = g.h.mul(y1, y0)
	}
	return y1, y0
}

// tag is E(J0) xor GHASH(ad, ct).
func (g *gcm) tag(j0 *[16]byte, ct, ad []byte) [16]byte {
	y1, y0 := g.ghashBlocks(0, 0, ad)
	y1, y0 = g.ghashBlocks(y1, y0, ct)
	y1 ^= uint64(len(ad)) * 8
	y0 ^= uint64(len(ct)) * 8
	y1, y0 = g.h.mul(y1, y0)
	var t [16]byte
	g.b.Encrypt(t[:], j0[:])
	binary.BigEndian.PutUint64(t[:8], binary.BigEndian.Uint64(t[:8])^y1)
	binary.BigEndian.PutUint64(t[8:], binary.BigEndian.Uint64(t[8:])^y0)
	return t
}

// ctr XORs in with the key stream that starts at inc32(J0). Messages are
// shorter than 2^32-2 blocks (Seal checks), so the low 32 bits of the
// counter, which start at 2, never wrap and crypto/cipher's CTR (which
// counts over all 128 bits) gives GCM's inc32 sequence; it also lets a
// block cipher with a multi-block CTR of its own (SM4 in gmsm, with
// AES-NI or GFNI S-boxes) use it.
func (g *gcm) ctr(out, in []byte, j0 *[16]byte) {
	ctr := *j0
	binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+1)
	cipher.NewCTR(g.b, ctr[:]).XORKeyStream(out[:len(in)], in)
}

func gcmJ0(nonce []byte) (j0 [16]byte) {
	copy(j0[:], nonce)
	j0[15] = 1
	return j0
}

func (g *gcm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != gcmNonceSize {
		panic("crypt: gcm: wrong nonce length")
	}
	if uint64(len(plaintext)) > (1<<32-2)*16 {
		panic("crypt: gcm: message too long")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+gcmTagSize)
	j0 := gcmJ0(nonce)
	g.ctr(out, plaintext, &j0)
	t := g.tag(&j0, out[:len(plaintext)], ad)
	copy(out[len(plaintext):], t[:])
	return ret
}

func (g *gcm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != gcmNonceSize || len(ciphertext) < gcmTagSize || uint64(len(ciphertext)) > (1<<32-2)*16+gcmTagSize {
		return nil, ErrAuth
	}
	ct, tag := ciphertext[:len(ciphertext)-gcmTagSize], ciphertext[len(ciphertext)-gcmTagSize:]
	j0 := gcmJ0(nonce)
	want := g.tag(&j0, ct, ad)
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		return nil, ErrAuth
	}
	ret, out := sliceForAppend(dst, len(ct))
	g.ctr(out, ct, &j0)
	return ret, nil
}

// sliceForAppend extends in by n bytes and returns the whole slice and the
// n new bytes (as crypto/cipher does).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}
