// Package crypt owns the master key file, key derivation (chunk-id key,
// gear seed, per-file data keys, per-cipher keys, key checks) and the AEAD
// ciphers of sealed messages: a registry (registry.go) of ciphers, looked
// up by name (or alias) by NewSealer. aes256gcm.go, chacha20poly1305.go
// and none.go (the last only when chosen explicitly) register one cipher
// each; blockciphers.go registers the platform's table of block ciphers in
// three constructions of this package: GCM with a constant-time GHASH
// (gcm.go), MGM (mgm.go) and CTR + HMAC-SHA-256 for wide blocks
// (ctrhmac.go), over constant-time GF(2^128) arithmetic (gf128.go).
// docs/encryption.md describes the table; docs/format.md, sections 2 and
// 3, the bytes.
//
// It must not know what is sealed (chunks, sections) or where it is stored.
package crypt
