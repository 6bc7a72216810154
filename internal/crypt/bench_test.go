package crypt

import "testing"

func benchSeal(b *testing.B, name string) {
	s, err := NewSealer(name, [32]byte{1})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	dst := make([]byte, 0, len(buf)+64)
	ad := make([]byte, 32)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		dst = s.Seal(dst[:0], buf, ad)
	}
}

func benchOpen(b *testing.B, name string) {
	s, err := NewSealer(name, [32]byte{1})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	ad := make([]byte, 32)
	sealed := s.Seal(nil, buf, ad)
	dst := make([]byte, 0, len(buf))
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		var err error
		if dst, err = s.Open(dst[:0], sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealAES64K(b *testing.B) { benchSeal(b, AES256GCM) }

func BenchmarkSealChaCha64K(b *testing.B) { benchSeal(b, ChaCha20Poly1305) }

// BenchmarkSeal64K and BenchmarkOpen64K measure every cipher on 64 KiB
// messages (docs/benchmarks.md): go test -run '^$' -bench 'Seal64K|Open64K' -cpu 1 ./internal/crypt/
func BenchmarkSeal64K(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) { benchSeal(b, name) })
	}
}

func BenchmarkOpen64K(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) { benchOpen(b, name) })
	}
}

// BenchmarkMGMLibrary64K is go-cryptobin's MGM (math/big), for comparison
// with kuznyechik-mgm-256 (our MGM).
func BenchmarkMGMLibrary64K(b *testing.B) {
	benchLibMGM(b)
}
