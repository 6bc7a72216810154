// Package crypt owns the master key file, key derivation (chunk-id key,
// per-archive data keys) and the AEAD ciphers (AES-256-GCM, ChaCha20-Poly1305,
// or none when chosen explicitly).
package crypt
