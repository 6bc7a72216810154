package crypt

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// ctrHMAC is the construction of the wide-block ciphers (Threefish-256,
// -512, -1024 and Kalyna-512/512), for which no standard AEAD mode exists:
// CTR over the full block, then HMAC-SHA-256 (encrypt-then-MAC), with
// separate encryption and MAC keys. docs/format.md, section 3:
//
//	K_enc = HKDF-SHA-256(key, salt empty, info = name || " encryption", KeySize)
//	K_mac = HKDF-SHA-256(key, salt empty, info = name || " authentication", 32)
//	nonce = 16 random bytes; counter block 0 = nonce || zero bytes (block size)
//	ct    = plaintext XOR E(counter 0) || E(counter 0 + 1) || ...  (big endian over the whole block)
//	tag   = HMAC-SHA-256(K_mac, u64le(len(ad)) || ad || nonce || ct), all 32 bytes
//	sealed message = nonce || ct || tag
type ctrHMAC struct {
	b   cipher.Block
	mac []byte
}

const (
	ctrHMACNonceSize = 16
	ctrHMACTagSize   = sha256.Size
)

// newCTRHMAC derives the two keys from key and builds the AEAD with the
// block cipher that newBlock makes from the encryption key.
func newCTRHMAC(name string, key []byte, newBlock func(key []byte) (cipher.Block, error)) (cipher.AEAD, error) {
	ek, err := hkdf.Key(sha256.New, key, nil, name+" encryption", len(key))
	if err != nil {
		return nil, fmt.Errorf("derive the encryption key: %w", err)
	}
	mk, err := hkdf.Key(sha256.New, key, nil, name+" authentication", 32)
	if err != nil {
		return nil, fmt.Errorf("derive the MAC key: %w", err)
	}
	b, err := newBlock(ek)
	if err != nil {
		return nil, err
	}
	if b.BlockSize() < ctrHMACNonceSize {
		return nil, errors.New("ctr-hmac needs blocks of at least 16 bytes")
	}
	return &ctrHMAC{b: b, mac: mk}, nil
}

func (*ctrHMAC) NonceSize() int { return ctrHMACNonceSize }
func (*ctrHMAC) Overhead() int  { return ctrHMACTagSize }

func (c *ctrHMAC) tag(nonce, ct, ad []byte) []byte {
	h := hmac.New(sha256.New, c.mac)
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(len(ad)))
	h.Write(l[:])
	h.Write(ad)
	h.Write(nonce)
	h.Write(ct)
	return h.Sum(nil)
}

func (c *ctrHMAC) xor(out, in, nonce []byte) {
	iv := make([]byte, c.b.BlockSize())
	copy(iv, nonce)
	cipher.NewCTR(c.b, iv).XORKeyStream(out, in)
}

func (c *ctrHMAC) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != ctrHMACNonceSize {
		panic("crypt: ctr-hmac: wrong nonce length")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+ctrHMACTagSize)
	c.xor(out[:len(plaintext)], plaintext, nonce)
	copy(out[len(plaintext):], c.tag(nonce, out[:len(plaintext)], ad))
	return ret
}

func (c *ctrHMAC) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != ctrHMACNonceSize || len(ciphertext) < ctrHMACTagSize {
		return nil, ErrAuth
	}
	ct, tag := ciphertext[:len(ciphertext)-ctrHMACTagSize], ciphertext[len(ciphertext)-ctrHMACTagSize:]
	if subtle.ConstantTimeCompare(c.tag(nonce, ct, ad), tag) != 1 {
		return nil, ErrAuth
	}
	ret, out := sliceForAppend(dst, len(ct))
	c.xor(out, ct, nonce)
	return ret, nil
}
