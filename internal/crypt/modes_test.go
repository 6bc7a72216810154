package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"testing"

	"github.com/deatil/go-cryptobin/cipher/kuznyechik"
	"github.com/deatil/go-cryptobin/cipher/serpent"
	libmgm "github.com/deatil/go-cryptobin/mode/mgm"
	"github.com/emmansun/gmsm/sm4"
)

// hideType hides a block cipher's type so crypto/cipher.NewGCM takes its
// generic path (the reference for our GCM over other block ciphers).
type hideType struct{ cipher.Block }

// TestGCMVectors: our GCM over AES gives the tags of SP 800-38D's test
// cases (McGrew and Viega, "The Galois/Counter Mode of Operation",
// Appendix B, test cases 2, 3, 4 and 16).
func TestGCMVectors(t *testing.T) {
	for _, tc := range []struct{ name, key, nonce, pt, ad, ct, tag string }{
		{"case 2", "00000000000000000000000000000000", "000000000000000000000000", "00000000000000000000000000000000", "",
			"0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
		{"case 3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985", "4d5c2af327cd64a62cf35abd2ba6fab4"},
		{"case 4", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
			"feedfacedeadbeeffeedfacedeadbeefabaddad2",
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091", "5bc94fbc3221a5db94fae95ae7121a47"},
		{"case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
			"feedfacedeadbeeffeedfacedeadbeefabaddad2",
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662", "76fc6ece0f4e1768cddf8853bb2d551b"},
	} {
		b, err := aes.NewCipher(mustHex(tc.key))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := newGCM(hideType{b})
		got := g.Seal(nil, mustHex(tc.nonce), mustHex(tc.pt), mustHex(tc.ad))
		if want := tc.ct + tc.tag; hex.EncodeToString(got) != want {
			t.Errorf("%s: sealed %x, want %s", tc.name, got, want)
		}
		if pt, err := g.Open(nil, mustHex(tc.nonce), got, mustHex(tc.ad)); err != nil || hex.EncodeToString(pt) != tc.pt {
			t.Errorf("%s: open: %v", tc.name, err)
		}
	}
}

// TestGCMMatchesStandardLibrary: our constant-time GCM and crypto/cipher's
// generic GCM agree on random keys, nonces, messages and associated data
// of every length around the block boundaries.
func TestGCMMatchesStandardLibrary(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range 300 {
		key := make([]byte, 32)
		rand.Read(key)
		var b cipher.Block
		switch i % 3 {
		case 0:
			b, _ = aes.NewCipher(key)
		case 1:
			b, _ = serpent.NewCipher(key)
		default:
			b, _ = sm4.NewCipher(key[:16]) // its own multi-block CTR
		}
		ours, _ := newGCM(b)
		if i%3 == 0 {
			ours, _ = newGCM(hideType{b})
		}
		std, err := cipher.NewGCM(hideType{b})
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, 12)
		pt := make([]byte, rng.IntN(100))
		ad := make([]byte, rng.IntN(50))
		rand.Read(nonce)
		rand.Read(pt)
		rand.Read(ad)
		a, s := ours.Seal(nil, nonce, pt, ad), std.Seal(nil, nonce, pt, ad)
		if !bytes.Equal(a, s) {
			t.Fatalf("len %d/%d: ours %x, standard library %x", len(pt), len(ad), a, s)
		}
	}
}

// TestMGMVector is RFC 9058, Appendix A (Kuznyechik): the example's key,
// nonce, associated data and plaintext give its ciphertext and tag.
func TestMGMVector(t *testing.T) {
	key := mustHex("8899aabbccddeeff0011223344556677fedcba98765432100123456789abcdef")
	nonce := mustHex("1122334455667700ffeeddccbbaa9988")
	ad := mustHex("0202020202020202010101010101010104040404040404040303030303030303ea0505050505050505")
	pt := mustHex("1122334455667700ffeeddccbbaa998800112233445566778899aabbcceeff0a112233445566778899aabbcceeff0a002233445566778899aabbcceeff0a0011aabbcc")
	want := "a9757b8147956e9055b8a33de89f42fc8075d2212bf9fd5bd3f7069aadc16b39497ab15915a6ba85936b5d0ea9f6851cc60c14d4d3f883d0ab94420695c76deb2c7552" +
		"cf5d656f40c34f5c46e8bb0e29fcdb4c"
	b, err := kuznyechik.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newMGM(b)
	got := m.Seal(nil, nonce, pt, ad)
	if hex.EncodeToString(got) != want {
		t.Fatalf("sealed %x\nwant   %s", got, want)
	}
	if out, err := m.Open(nil, nonce, got, ad); err != nil || !bytes.Equal(out, pt) {
		t.Fatalf("open: %v", err)
	}
	bad := bytes.Clone(nonce)
	bad[0] |= 0x80 // not a 127-bit nonce
	if _, err := m.Open(nil, bad, got, ad); err == nil {
		t.Fatal("a nonce with the top bit set was accepted")
	}
}

// TestMGMMatchesLibrary: our MGM and go-cryptobin's (math/big) agree on
// random inputs.
func TestMGMMatchesLibrary(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for range 200 {
		key := make([]byte, 32)
		rand.Read(key)
		b, _ := kuznyechik.NewCipher(key)
		ours, _ := newMGM(b)
		lib, err := libmgm.NewMGM(b)
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, 16)
		pt := make([]byte, rng.IntN(100))
		ad := make([]byte, rng.IntN(50))
		rand.Read(nonce)
		rand.Read(pt)
		rand.Read(ad)
		nonce[0] &= 0x7f
		a, l := ours.Seal(nil, nonce, pt, ad), lib.Seal(nil, nonce, pt, ad)
		if !bytes.Equal(a, l) {
			t.Fatalf("len %d/%d: ours %x, go-cryptobin %x", len(pt), len(ad), a, l)
		}
	}
}

// TestMulMGM checks the field multiplication against a bit-by-bit
// reference (shift and add, reduce by x^128 + x^7 + x^2 + x + 1).
func TestMulMGM(t *testing.T) {
	ref := func(ah, al, bh, bl uint64) (uint64, uint64) {
		var rh, rl uint64
		for i := 127; i >= 0; i-- {
			top := rh >> 63
			rh, rl = rh<<1|rl>>63, rl<<1
			if top == 1 {
				rl ^= 0x87
			}
			var bit uint64
			if i >= 64 {
				bit = bh >> (i - 64) & 1
			} else {
				bit = bl >> i & 1
			}
			if bit == 1 {
				rh, rl = rh^ah, rl^al
			}
		}
		return rh, rl
	}
	rng := mrand.New(mrand.NewPCG(5, 6))
	for range 2000 {
		ah, al, bh, bl := rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()
		gh, gl := mulMGM(ah, al, bh, bl)
		wh, wl := ref(ah, al, bh, bl)
		if gh != wh || gl != wl {
			t.Fatalf("%x%x * %x%x = %x%x, want %x%x", ah, al, bh, bl, gh, gl, wh, wl)
		}
	}
	if h, l := mulMGM(^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)); true {
		wh, wl := ref(^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0))
		if h != wh || l != wl {
			t.Fatal("all ones")
		}
	}
}

func benchLibMGM(b *testing.B) {
	blk, _ := kuznyechik.NewCipher(make([]byte, 32))
	a, _ := libmgm.NewMGM(blk)
	buf := make([]byte, 64<<10)
	dst := make([]byte, 0, len(buf)+16)
	nonce := make([]byte, 16)
	ad := make([]byte, 32)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		dst = a.Seal(dst[:0], nonce, buf, ad)
	}
}
