package crypt

import (
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// ChaCha20Poly1305 is RFC 8439 with a random 12-byte nonce and a 16-byte
// tag, for machines without AES instructions.
const ChaCha20Poly1305 = "chacha20-poly1305"

func init() {
	register(spec{name: ChaCha20Poly1305, keySize: chacha20poly1305.KeySize, mode: "RFC 8439", new: newChaCha20Poly1305})
}

func newChaCha20Poly1305(key []byte) (cipher.AEAD, error) {
	a, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, fmt.Errorf("chacha20-poly1305: %w", err)
	}
	return a, nil
}
