package crypt

import "math/bits"

// Constant-time arithmetic in GF(2^128) for GCM's GHASH and for MGM. Both
// multiply with integer multiplications on masked operands ("multiplication
// with holes", as in BearSSL's ghash_ctmul64): no table lookups and no
// branches on secret data, unlike Go's generic GHASH (crypto/cipher's GCM
// for block ciphers other than AES), which indexes a table of multiples of
// the hash key with bits of the running, secret-dependent hash.

// bmul64 returns the low 64 bits of the carry-less product of x and y.
// Each operand is split into four interleaved bit classes (every fourth
// bit); the integer products of the classes have three zero bits between
// the bits that matter, and no column of a low half adds up to 16, so
// carries never reach a bit that is kept.
func bmul64(x, y uint64) uint64 {
	const (
		m0 = 0x1111111111111111
		m1 = m0 << 1
		m2 = m0 << 2
		m3 = m0 << 3
	)
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1)
	z1 := (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2)
	z2 := (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3)
	z3 := (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0)
	return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3)
}

// clmul64 is the full carry-less product of x and y: the high half is the
// low half of the product of the bit-reversed operands, reversed back.
func clmul64(x, y uint64) (hi, lo uint64) {
	lo = bmul64(x, y)
	hi = bits.Reverse64(bmul64(bits.Reverse64(x), bits.Reverse64(y))) >> 1
	return hi, lo
}

// mulMGM multiplies two elements of GF(2^128) modulo
// x^128 + x^7 + x^2 + x + 1 in MGM's representation (RFC 9058): a block is
// a big-endian 128-bit integer whose bit i is the coefficient of x^i;
// (h, l) are its high and low 64 bits.
func mulMGM(ah, al, bh, bl uint64) (h, l uint64) {
	// Karatsuba: three 64x64 carry-less products.
	p1h, p1l := clmul64(ah, bh)
	p0h, p0l := clmul64(al, bl)
	pmh, pml := clmul64(ah^al, bh^bl)
	pmh ^= p1h ^ p0h
	pml ^= p1l ^ p0l
	// 256-bit product w3 w2 w1 w0.
	w3, w2, w1, w0 := p1h, p1l^pmh, p0h^pml, p0l
	// x^128 = x^7 + x^2 + x + 1: fold w3 (at x^192) into w2 and w1, then
	// w2 (at x^128) into w1 and w0.
	w2 ^= (w3 >> 63) ^ (w3 >> 62) ^ (w3 >> 57)
	w1 ^= w3 ^ (w3 << 1) ^ (w3 << 2) ^ (w3 << 7)
	w1 ^= (w2 >> 63) ^ (w2 >> 62) ^ (w2 >> 57)
	w0 ^= w2 ^ (w2 << 1) ^ (w2 << 2) ^ (w2 << 7)
	return w1, w0
}

// ghashKey is a GHASH key H in the form mulGHASH wants: its two halves as
// big-endian words, their bit reversals and the Karatsuba sums.
type ghashKey struct {
	h0, h1, h2, h0r, h1r, h2r uint64
}

func newGHASHKey(h1, h0 uint64) ghashKey {
	k := ghashKey{h0: h0, h1: h1, h0r: bits.Reverse64(h0), h1r: bits.Reverse64(h1)}
	k.h2, k.h2r = k.h0^k.h1, k.h0r^k.h1r
	return k
}

// mulGHASH returns y*H in GCM's bit-reflected representation (SP 800-38D):
// y1 and y0 are the first and second 8 bytes of the block, big endian.
// This is BearSSL's br_ghash_ctmul64 step.
func (k *ghashKey) mul(y1, y0 uint64) (uint64, uint64) {
	y0r, y1r := bits.Reverse64(y0), bits.Reverse64(y1)
	y2, y2r := y0^y1, y0r^y1r
	z0 := bmul64(y0, k.h0)
	z1 := bmul64(y1, k.h1)
	z2 := bmul64(y2, k.h2)
	z0h := bmul64(y0r, k.h0r)
	z1h := bmul64(y1r, k.h1r)
	z2h := bmul64(y2r, k.h2r)
	z2 ^= z0 ^ z1
	z2h ^= z0h ^ z1h
	z0h = bits.Reverse64(z0h) >> 1
	z1h = bits.Reverse64(z1h) >> 1
	z2h = bits.Reverse64(z2h) >> 1
	v0, v1, v2, v3 := z0, z0h^z2, z1^z2h, z1h
	v3 = (v3 << 1) | (v2 >> 63)
	v2 = (v2 << 1) | (v1 >> 63)
	v1 = (v1 << 1) | (v0 >> 63)
	v0 <<= 1
	v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7)
	v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57)
	v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7)
	v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57)
	return v3, v2
}
