package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// AES256GCM is AES-256 in GCM with a random 12-byte nonce and a 16-byte
// tag, the default cipher.
const AES256GCM = "aes-256-gcm"

func init() { register(aes256GCM{}) }

type aes256GCM struct{}

func (aes256GCM) Name() string  { return AES256GCM }
func (aes256GCM) KeySize() int  { return 32 }
func (aes256GCM) Default() bool { return true }

func (aes256GCM) New(key [32]byte) (cipher.AEAD, error) {
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
