package crypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/zeebo/blake3"
)

// Key derivation uses BLAKE3 in derive-key mode: DeriveKey(context, material).
// Each context string below is part of the on-disk format (docs/format.md).
const (
	ctxChunkID  = "rb_module_rustack 2025-01 chunk id key v1"
	ctxGear     = "rb_module_rustack 2025-01 chunker gear v1"
	ctxData     = "rb_module_rustack 2025-01 file data key v1"
	ctxKeyCheck = "rb_module_rustack 2025-01 key check v1"
	ctxNoneMAC  = "rb_module_rustack 2025-01 none cipher mac v1"
)

// SaltSize is the size of the per-file random salt.
const SaltSize = 16

// KeyCheckSize is the size of the key-check value stored in file headers.
const KeyCheckSize = 16

// material is the key material of derivations: the master key, or for
// cipher "none" (master nil) 32 zero bytes, so chunk ids then use a fixed,
// documented key.
func material(master []byte) []byte {
	if master == nil {
		return make([]byte, KeySize)
	}
	return master
}

// ChunkIDKey derives the key of the keyed BLAKE3 chunk ids. master nil means
// cipher "none" (a fixed key derived from 32 zero bytes).
func ChunkIDKey(master []byte) [32]byte {
	var k [32]byte
	blake3.DeriveKey(ctxChunkID, material(master), k[:])
	return k
}

// GearSeed derives the seed of the chunker's gear table, so chunk boundaries
// depend on the key (they reveal nothing about content to someone without it).
func GearSeed(master []byte) [32]byte {
	var k [32]byte
	blake3.DeriveKey(ctxGear, material(master), k[:])
	return k
}

// DataKey derives the AEAD key of one file (archive, pack or index) from the
// master key and the file's random salt.
func DataKey(master []byte, salt []byte) [32]byte {
	m := make([]byte, 0, KeySize+len(salt))
	m = append(m, material(master)...)
	m = append(m, salt...)
	var k [32]byte
	blake3.DeriveKey(ctxData, m, k[:])
	return k
}

// KeyCheck derives the key-check value stored in a file header: it tells a
// wrong key from damaged data.
func KeyCheck(master []byte, salt []byte) [KeyCheckSize]byte {
	m := make([]byte, 0, KeySize+len(salt))
	m = append(m, material(master)...)
	m = append(m, salt...)
	var k [KeyCheckSize]byte
	blake3.DeriveKey(ctxKeyCheck, m, k[:])
	return k
}

// CipherKey turns a 32-byte data key into the key of cipher c: the data key
// itself when the cipher takes 32 bytes (so aes-256-gcm and
// chacha20-poly1305 keep the keys of earlier versions), nothing for a cipher
// without a key (none), and otherwise KeySize bytes of
// HKDF-SHA-256(IKM = data key, salt = empty, info = the cipher's name), for
// 16-byte keys (aes-128, serpent-128, ...) and the 64- and 128-byte keys of
// kalyna-512 and threefish-512/1024. docs/format.md, section 2.
func CipherKey(c Cipher, dataKey [32]byte) ([]byte, error) {
	switch n := c.KeySize(); n {
	case 0:
		return nil, nil
	case len(dataKey):
		return append([]byte(nil), dataKey[:]...), nil
	default:
		k, err := hkdf.Key(sha256.New, dataKey[:], nil, c.Name(), n)
		if err != nil {
			return nil, fmt.Errorf("derive the %d-byte key of cipher %s: %w", n, c.Name(), err)
		}
		return k, nil
	}
}
