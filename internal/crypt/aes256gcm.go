package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// AES256GCM is AES-256 in GCM with a random 12-byte nonce and a 16-byte
// tag, the default cipher.
const AES256GCM = "aes-256-gcm"

// AES128 is AES-128 in GCM, the same construction with a 16-byte key
// (CipherKey derives it from the data key).
const AES128 = "aes-128"

func init() {
	register(spec{name: AES256GCM, keySize: 32, mode: "GCM", def: true, new: newAESGCM})
	register(spec{name: AES128, keySize: 16, mode: "GCM", new: newAESGCM})
}

// newAESGCM is the standard library's AES-GCM, with AES and carry-less
// multiplication instructions where the processor has them.
func newAESGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return a, nil
}
