package crypt

import "testing"

func TestChaCha20Poly1305(t *testing.T) {
	checkVector(t, ChaCha20Poly1305, 32, "bc73ebc9e2b7c9d2f55e466da9bf357fdfcde52e6a06d675edb5a1dfa69bec2f0224c6610c2399feda88bd468e")
}
