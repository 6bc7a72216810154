package crypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestSealers checks every registered cipher: sizes, secrecy, fresh nonces,
// round trip, and that another key, other associated data, any flipped
// byte and truncation are refused.
func TestSealers(t *testing.T) {
	var k1, k2 [32]byte
	k1[0], k2[0] = 1, 2
	for _, name := range Names() {
		s1, err := NewSealer(name, k1)
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := NewSealer(name, k2)
		msg := []byte("the quick brown fox")
		ad := []byte("id")
		sealed := s1.Seal(nil, msg, ad)
		if len(sealed) != len(msg)+s1.Overhead() {
			t.Fatalf("%s: sealed %d bytes, want %d", name, len(sealed), len(msg)+s1.Overhead())
		}
		if name != None && bytes.Contains(sealed, msg) {
			t.Fatalf("%s: plaintext visible", name)
		}
		if name != None && bytes.Equal(sealed, s1.Seal(nil, msg, ad)) {
			t.Fatalf("%s: nonce reused", name)
		}
		out, err := s1.Open(nil, sealed, ad)
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("%s: open: %v", name, err)
		}
		if _, err := s1.Open(nil, sealed, []byte("other id")); !errors.Is(err, ErrAuth) {
			t.Fatalf("%s: other associated data accepted", name)
		}
		if name != None {
			if _, err := s2.Open(nil, sealed, ad); !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: other key accepted", name)
			}
		}
		for i := range sealed {
			bad := append([]byte(nil), sealed...)
			bad[i] ^= 4
			if _, err := s1.Open(nil, bad, ad); !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: flipped byte %d accepted", name, i)
			}
		}
		if _, err := s1.Open(nil, sealed[:3], ad); !errors.Is(err, ErrAuth) {
			t.Fatalf("%s: short message accepted", name)
		}
	}
	if _, err := NewSealer("rot13", k1); err == nil {
		t.Fatal("unknown cipher accepted")
	}
}

func TestRegistry(t *testing.T) {
	want := "aes-256-gcm aes-128 anubis-128 anubis-256 aria-128 aria-256 camellia-128 camellia-256 cast6-128 cast6-256 " +
		"chacha20-poly1305 kalyna-128 kalyna-256 kalyna-512 kuznyechik-256 kuznyechik-mgm-256 mars-128 mars-256 none " +
		"serpent-128 serpent-256 simon-128 sm4-128 speck-128 speck-256 threefish-256 threefish-512 threefish-1024 twofish-128 twofish-256"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("names %q: want the default first, then by family and key bits", got)
	}
	if c, ok := Lookup("aes-256"); !ok || c.Name() != AES256GCM || Canonical("aes-256") != AES256GCM || Canonical("serpent-256") != "serpent-256" {
		t.Fatal("alias aes-256 does not stand for aes-256-gcm")
	}
	defaults := 0
	for _, c := range Ciphers() {
		if c.Default() {
			defaults++
		}
		if !ValidCipher(c.Name()) {
			t.Fatalf("%s not valid", c.Name())
		}
	}
	if defaults != 1 || !mustLookup(t, AES256GCM).Default() {
		t.Fatalf("%d default ciphers, want aes-256-gcm alone", defaults)
	}
	if ValidCipher("rot13") {
		t.Fatal("unknown cipher valid")
	}
}

func mustLookup(t *testing.T, name string) Cipher {
	t.Helper()
	c, ok := Lookup(name)
	if !ok {
		t.Fatalf("cipher %s is not registered", name)
	}
	return c
}

// checkVector opens a message sealed by an earlier version (key bytes
// 0..31, plaintext "rb_module_rustack", associated data "ad"): the format of
// sealed messages does not change.
func checkVector(t *testing.T, name string, keySize int, sealedHex string) {
	t.Helper()
	if got := mustLookup(t, name).KeySize(); got != keySize {
		t.Fatalf("%s: key size %d, want %d", name, got, keySize)
	}
	var k [32]byte
	for i := range k {
		k[i] = byte(i)
	}
	s, err := NewSealer(name, k)
	if err != nil {
		t.Fatal(err)
	}
	sealed := mustHex(sealedHex)
	out, err := s.Open(nil, sealed, []byte("ad"))
	if err != nil || string(out) != "rb_module_rustack" {
		t.Fatalf("%s: known sealed message: %q %v", name, out, err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
