package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// mgm is the Multilinear Galois Mode (RFC 9058; GOST R 34.13-2015's
// companion R 1323565.1.026-2019) over a block cipher of 16-byte blocks:
// a 127-bit nonce carried in 16 bytes (the top bit zero), a 16-byte tag,
// and a constant-time multiplication in GF(2^128) (gf128.go). The
// implementation in go-cryptobin is the same mode but multiplies with
// math/big, which is slow and not constant-time; tests cross-check the two.
type mgm struct{ b cipher.Block }

const (
	mgmNonceSize = 16
	mgmTagSize   = 16
)

func newMGM(b cipher.Block) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("mgm needs a block cipher of 16-byte blocks")
	}
	return &mgm{b: b}, nil
}

func (*mgm) NonceSize() int { return mgmNonceSize }
func (*mgm) Overhead() int  { return mgmTagSize }

// fixNonce clears the top bit: MGM nonces are 127 bits (ICN).
func (*mgm) fixNonce(nonce []byte) { nonce[0] &= 0x7f }

// ctr XORs in with E(Y_1), E(Y_2), ... where Y_1 = E(0 || ICN) and
// Y_{i+1} = incr_r(Y_i) (the right half plus one, mod 2^64).
func (m *mgm) ctr(out, in, nonce []byte) {
	var y, ks [16]byte
	copy(y[:], nonce)
	y[0] &= 0x7f
	m.b.Encrypt(y[:], y[:])
	for len(in) > 0 {
		m.b.Encrypt(ks[:], y[:])
		binary.BigEndian.PutUint64(y[8:], binary.BigEndian.Uint64(y[8:])+1)
		n := subtle.XORBytes(out, in, ks[:])
		out, in = out[n:], in[n:]
	}
}

// tag is E(sum of H_i (x) A_i, H (x) C_j, H (x) (len(A) || len(C)))
// with H_i = E(Z_i), Z_1 = E(1 || ICN), Z_{i+1} = incr_l(Z_i).
func (m *mgm) tag(nonce, ct, ad []byte) [16]byte {
	var z, h [16]byte
	copy(z[:], nonce)
	z[0] |= 0x80
	m.b.Encrypt(z[:], z[:])
	var sh, sl uint64
	absorb := func(bh, bl uint64) {
		m.b.Encrypt(h[:], z[:])
		binary.BigEndian.PutUint64(z[:8], binary.BigEndian.Uint64(z[:8])+1)
		ph, pl := mulMGM(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:]), bh, bl)
		sh ^= ph
		sl ^= pl
	}
	for _, b := range [][]byte{ad, ct} {
		for len(b) > 0 {
			var blk [16]byte
			n := copy(blk[:], b)
			b = b[n:]
			absorb(binary.BigEndian.Uint64(blk[:8]), binary.BigEndian.Uint64(blk[8:]))
		}
	}
	absorb(uint64(len(ad))*8, uint64(len(ct))*8)
	var t [16]byte
	binary.BigEndian.PutUint64(t[:8], sh)
	binary.BigEndian.PutUint64(t[8:], sl)
	m.b.Encrypt(t[:], t[:])
	return t
}

func (m *mgm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != mgmNonceSize || nonce[0]&0x80 != 0 {
		panic("crypt: mgm: nonce must be 16 bytes with the top bit clear")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+mgmTagSize)
	m.ctr(out, plaintext, nonce)
	t := m.tag(nonce, out[:len(plaintext)], ad)
	copy(out[len(plaintext):], t[:])
	return ret
}

func (m *mgm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != mgmNonceSize || nonce[0]&0x80 != 0 || len(ciphertext) < mgmTagSize {
		return nil, ErrAuth
	}
	ct, tag := ciphertext[:len(ciphertext)-mgmTagSize], ciphertext[len(ciphertext)-mgmTagSize:]
	want := m.tag(nonce, ct, ad)
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		return nil, ErrAuth
	}
	ret, out := sliceForAppend(dst, len(ct))
	m.ctr(out, ct, nonce)
	return ret, nil
}
