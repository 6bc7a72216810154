// Package crypt owns the master key file, key derivation (chunk-id key,
// gear seed, per-file data keys, key checks) and the AEAD ciphers of sealed
// messages: a registry (registry.go) of ciphers, one file each
// (aes256gcm.go, chacha20poly1305.go, none.go, the last only when chosen
// explicitly), looked up by name by NewSealer.
//
// It must not know what is sealed (chunks, sections) or where it is stored.
package crypt
