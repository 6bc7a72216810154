package crypt

import "testing"

func benchSeal(b *testing.B, name string) {
	s, _ := NewSealer(name, [32]byte{1})
	buf := make([]byte, 64<<10)
	dst := make([]byte, 0, len(buf)+64)
	ad := make([]byte, 32)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		dst = s.Seal(dst[:0], buf, ad)
	}
}

func BenchmarkSealAES64K(b *testing.B) { benchSeal(b, AES256GCM) }

func BenchmarkSealChaCha64K(b *testing.B) { benchSeal(b, ChaCha20Poly1305) }
