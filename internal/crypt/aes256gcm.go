package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// AES256GCM is AES-256 in GCM with a random 12-byte nonce and a 16-byte
// tag, the default cipher.
const AES256GCM = "aes-256-gcm"

func init() { register(spec{name: AES256GCM, keySize: 32, def: true, new: newAES256GCM}) }

func newAES256GCM(key [32]byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return a, nil
}
