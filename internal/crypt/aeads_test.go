package crypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
)

// golden are messages sealed with the data key 00 01 ... 1f, the nonce
// 00 01 02 ... (NonceSize bytes), plaintext "rb_module_rustack, a golden
// message of 48 bytes." and associated data "chunk id": the bytes on disk
// of every cipher. A change here breaks every archive written before it.
// RB_GOLDEN=print go test -run TestGolden prints the table.
var golden = map[string]string{
	"aes-256-gcm":        "000102030405060708090a0b35608976aa81b777e81ee5fec29d190ee8faa755d01c30105c028ba5700c73c16077cbdcc0a732ac4c841d94fce25b16c8ee4f78777d85b6d2de97bfb648ad84",
	"aes-128":            "000102030405060708090a0b8b7f3335dad998ee97859d6e645f4777211a1353372a89cbc05ddf66d5c3c4ccc60cdfdf23150d462913095f0538f35c03277bec4e6bcd8bc26886d28255ea82",
	"anubis-128":         "000102030405060708090a0bbe2488ef4032df95544ac0d04c341fdc152a2c3cbc504d16591cf47e20a16fe820290f6077e7ce98d7af4c804d5799e857d721ce282bb27162d850f383a86172",
	"anubis-256":         "000102030405060708090a0bb4351e3e9958a30d01d46da1c09fd59bb7385cbe194570e50b178f297b0cda783a3c1147a1888fd28f3b55ecb104b4e797d579bef23e7a0ba0f78815297052d9",
	"aria-128":           "000102030405060708090a0be99b943459a822b156147216e0afb302cb6900eefaaa02b452d787000b195bf403b3db1a18a01856eea91afe8d2a0eb1eff1803b3a536a3d5d8bd3c914aed730",
	"aria-256":           "000102030405060708090a0beb6956bc967411060303e67d2a543159038f2ac92053b4a01ccab010586598208580019371974eaffe33c71536b10098f23f43b57daf0f5fc373d77516dfd74d",
	"camellia-128":       "000102030405060708090a0be4a63245803b911b137106fc6a4bd8303a006980a2b45a00608f8cab6abe8f4453168ae87a3b8c1dfba8df4bc99931698f18b343dea67aaa6906525d8c07e34e",
	"camellia-256":       "000102030405060708090a0bbd0e5f815f11424832628d413caab9c63821868d292681422e894383349f178a26f4c994198070e5c07039cd896b802e764cbb30a7200e4cdd1ecb9a7f89439b",
	"cast6-128":          "000102030405060708090a0bf325930f7be05fa36c6d16b9455c008bb3bad40ee9aac1fbad6d9f1a1ee3d388c9874bdaa24cf00941cd93487b5c8b3f4b61a4db4f6065ef278f831dfd240111",
	"cast6-256":          "000102030405060708090a0bb6831d1344440d3c531a419ea627e051dff67577ff5164588a2d28fa25a4d04cd1584122e8f28b72e40b1c480123d44612722b75c3bcd1cefdcbfd25ffb6a27b",
	"chacha20-poly1305":  "000102030405060708090a0bfb99576d4673d02cd2dc4d86eb696f00a25c92867113c2d582f241e518a5d54f8de749d3897891ac0f1214a111f1fc0d07755bc773948b935583af16f77138ae",
	"kalyna-128":         "000102030405060708090a0b9cbd8c6961d667ecf56a4c0f0784e86df8faa826f9713f9806aa4f05609c0ffdf6db36975851a25e870a8f48acd01838a9921b8ea21b94560ada71e92cb51682",
	"kalyna-256":         "000102030405060708090a0b5dfbfe74f03e3cf9777aa307d61c1ab5a3be52ceb1ef89fc05596622fee5e38fbae6199997b50de3f6968686f8cbb28c63fcb6f55f4523dc59812d5ccd6afbd7",
	"kalyna-512":         "000102030405060708090a0b0c0d0e0f7ae1bd4ecf24468a7060bf3fe5fb8b1030006c61453b18005a51c798230c023803910c5cac614c2405ec205ce4decc56c2c18084b8a7c576272689c245425eaa0c51c96aec7b0258f270427aeeea986f",
	"kuznyechik-256":     "000102030405060708090a0b7862b7112222f98ad1824425af5d6e68b52f17d5d9ce5239308111fbadbfd1678b1ec477c33d3171bdd3fb0ae5d2f4788163adcd959c8a65d0ff8e07c9630c71",
	"kuznyechik-mgm-256": "000102030405060708090a0b0c0d0e0f3ab450129496a5e7661b61358e0c147dd9e2deb51976d211bfe8d59da3534485b12c70c4a2ae73eae49f10f3bef90be3700dc599151ec53e4fafb8aef597211d",
	"mars-128":           "000102030405060708090a0b3c07f50c18edb05ecae48aca99ae8af9fe6a58f08b156aa2a03ec4718bdf7298a48a518af815757ef9f93999088deb49cf1aef0f70083d6e8490642b8212fc70",
	"mars-256":           "000102030405060708090a0bcfe2a5b89cd5958d94cdbd5a3db1cbfbbefdf4fa3076b880ffb8dc70b8caa55872d66cedf5068d4a0713bcd084a6dc437f33dddc0029aff1ba10f0a8a39ad399",
	"none":               "72625f6d6f64756c655f7275737461636b2c206120676f6c64656e206d657373616765206f662034382062797465732e52d6fe5770b6ac491db9f267106cdee3",
	"serpent-128":        "000102030405060708090a0bd6cf729efb033470ce8231fa6d36190573f35094c3892e15abdd4e28c2f8ef225f5f6ad528fde230a7d69ef8f94fc88e9384ed3d73e097c26b6e0be70a2ee723",
	"serpent-256":        "000102030405060708090a0bcb9ebc613dcba707aca619395e4757cbcf3270e4bdee2404be21a96491c2f9598c70770c3e581be2b3fad28e5e2c81011fdc7638262e5767920425e6938e9f38",
	"simon-128":          "000102030405060708090a0ba167399fe2e8da738e7231a85848329bb8e5f593e2f6a7c4639c865561fd0c412e3a9e16cff68f2ba314fc0b7b75b88706e72d6fc865282c87ea0f2453240571",
	"sm4-128":            "000102030405060708090a0bf44c63374129a635e379fe668a6817c12fbebfc9e693a4435e70597b6906df8e1f2db7b00557887e123c3cba43ba18d092f9349ba178690396b2f86f67e2f512",
	"speck-128":          "000102030405060708090a0bf87a4b5ba627479b7d12eff89110ae74e5b30fd96155422aeee039bdffdaff1fd4a5cc8b13416bd9bfb45c3cf51ccb76c151c00c57ae18fa135cabc14f8887cb",
	"speck-256":          "000102030405060708090a0baa8bfcae04d5ebb068cd6ab68183391c174c8bb7a81e0262d6ecba2d5f624b5b3e34525c3482ac98e2bd692f0360eff0234f784a62429aa9aa8795df3ac83748",
	"threefish-256":      "000102030405060708090a0b0c0d0e0fa7488f014e549b7fa9e192441ed6c62a2f9b654dd703e57553ec930fdfa3238b718c21e0d691e8695000e6b2e54d26cdb7b638c0b02bdd0ec73340fdd7341e716ee02baa334c3374b91e9055db109ef5",
	"threefish-512":      "000102030405060708090a0b0c0d0e0fb23676c9764b16392a0afa88623c99216d80dcce366848060bd885e44c51fd2942eb5053c312edd8edf527110ed9d54bca298e7f8bfbb78f97cf29f6a0435780018a5d5f657806f4557510f796078823",
	"threefish-1024":     "000102030405060708090a0b0c0d0e0fe7328e38d73abcc63774ef752906f8c8acab94f0821c55c94e28704251e82782dccadc774f3e46eb6f4cbb2e2d0e4516c97981c9dbb6a0ac303f14cc5af5d5895d56c86084b3633da401ae97c825cfad",
	"twofish-128":        "000102030405060708090a0be6f1b0ced4b5af640c2766380db9c2391e7c03b2fd5b05a680d58b6e2ab8e61b1c7258ffb00b5307595f75f76a5084de7ad05ccd38f8b52abfb07f40678365f7",
	"twofish-256":        "000102030405060708090a0b3c44e2ed80d0fea819c3d63984a6c4221ea11773d259dde246911927b41583518e5604636ecac549ba6e6bd95bd04723f3170a411e2b7e349dbe1376e2216a19",
}

func goldenSeal(t *testing.T, name string) []byte {
	t.Helper()
	var k [32]byte
	for i := range k {
		k[i] = byte(i)
	}
	c := mustLookup(t, name)
	ck, err := CipherKey(c, k)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.New(ck)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, a.NonceSize())
	for i := range nonce {
		nonce[i] = byte(i)
	}
	return append(nonce, a.Seal(nil, nonce, []byte("rb_module_rustack, a golden message of 48 bytes."), []byte("chunk id"))...)
}

func TestGolden(t *testing.T) {
	for _, name := range Names() {
		got := hex.EncodeToString(goldenSeal(t, name))
		if os.Getenv("RB_GOLDEN") == "print" {
			fmt.Printf("\t%q: %q,\n", name, got)
			continue
		}
		if golden[name] != got {
			t.Errorf("%s: sealed %s\nwant %s", name, got, golden[name])
		}
		// The sealer opens it.
		var k [32]byte
		for i := range k {
			k[i] = byte(i)
		}
		s, _ := NewSealer(name, k)
		if out, err := s.Open(nil, mustHex(got), []byte("chunk id")); err != nil || string(out) != "rb_module_rustack, a golden message of 48 bytes." {
			t.Errorf("%s: golden message does not open: %v", name, err)
		}
	}
}

// TestKeySizes: the key of each cipher is what its name says, and
// CipherKey leaves 32-byte keys as they are (earlier archives) and derives
// the others per cipher name.
func TestKeySizes(t *testing.T) {
	want := map[string]int{AES256GCM: 32, ChaCha20Poly1305: 32, None: 0, "aes-128": 16, "kalyna-512": 64, "threefish-512": 64, "threefish-1024": 128, KuznyechikMGM: 32, "simon-128": 16, "sm4-128": 16}
	var dk [32]byte
	dk[3] = 7
	for _, c := range Ciphers() {
		if n, ok := want[c.Name()]; ok && c.KeySize() != n {
			t.Errorf("%s: key size %d, want %d", c.Name(), c.KeySize(), n)
		}
		k, err := CipherKey(c, dk)
		if err != nil || len(k) != c.KeySize() {
			t.Fatalf("%s: cipher key of %d bytes: %v", c.Name(), len(k), err)
		}
		if c.KeySize() == 32 && !bytes.Equal(k, dk[:]) {
			t.Errorf("%s: a 32-byte cipher key is not the data key", c.Name())
		}
		if _, err := c.New(make([]byte, c.KeySize()+1)); err == nil && c.Name() != None {
			t.Errorf("%s: a key of the wrong length was accepted", c.Name())
		}
	}
	a, _ := CipherKey(mustLookup(t, "serpent-128"), dk)
	b, _ := CipherKey(mustLookup(t, "twofish-128"), dk)
	if bytes.Equal(a, b) {
		t.Error("derived keys of two ciphers are equal")
	}
}

// TestTamper: every bit of a sealed message (nonce, ciphertext, tag) and
// of its associated data matters, for every cipher.
func TestTamper(t *testing.T) {
	var k [32]byte
	k[0] = 9
	for _, name := range Names() {
		s, err := NewSealer(name, k)
		if err != nil {
			t.Fatal(err)
		}
		ad := []byte("chunk-id-0123456789")
		for _, n := range []int{0, 1, 15, 16, 17, 100} {
			msg := bytes.Repeat([]byte{0x5a}, n)
			sealed := s.Seal(nil, msg, ad)
			for bit := range 8 * len(sealed) {
				bad := bytes.Clone(sealed)
				bad[bit/8] ^= 1 << (bit % 8)
				if _, err := s.Open(nil, bad, ad); !errors.Is(err, ErrAuth) {
					t.Fatalf("%s: length %d: flipped bit %d of the sealed message accepted", name, n, bit)
				}
			}
			for bit := range 8 * len(ad) {
				bad := bytes.Clone(ad)
				bad[bit/8] ^= 1 << (bit % 8)
				if _, err := s.Open(nil, sealed, bad); !errors.Is(err, ErrAuth) {
					t.Fatalf("%s: flipped bit %d of the associated data accepted", name, bit)
				}
			}
			if _, err := s.Open(nil, sealed[:len(sealed)-1], ad); !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: truncated message accepted", name)
			}
			if _, err := s.Open(nil, append(bytes.Clone(sealed), 0), ad); !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: extended message accepted", name)
			}
		}
	}
}

// TestRoundTripSizes: every cipher seals and opens messages of many
// lengths, in place and appended to a prefix.
func TestRoundTripSizes(t *testing.T) {
	var k [32]byte
	k[31] = 1
	for _, name := range Names() {
		s, _ := NewSealer(name, k)
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 65536} {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i * 7)
			}
			sealed := s.Seal([]byte("prefix"), msg, nil)
			if len(sealed) != 6+n+s.Overhead() || string(sealed[:6]) != "prefix" {
				t.Fatalf("%s: %d: sealed length %d", name, n, len(sealed))
			}
			out, err := s.Open([]byte("x"), sealed[6:], nil)
			if err != nil || !bytes.Equal(out[1:], msg) || out[0] != 'x' {
				t.Fatalf("%s: %d: %v", name, n, err)
			}
			// In place, as the AEAD contract allows.
			body := bytes.Clone(sealed[6:])
			ns := s.aead.NonceSize()
			out, err = s.Open(body[ns:ns], body, nil)
			if err != nil || !bytes.Equal(out, msg) {
				t.Fatalf("%s: %d in place: %v", name, n, err)
			}
		}
	}
}

// FuzzOpen: no input makes Open panic or accept what was not sealed.
// Without -fuzz only the seeds run.
func FuzzOpen(f *testing.F) {
	var k [32]byte
	for _, name := range Names() {
		s, _ := NewSealer(name, k)
		f.Add(name, s.Seal(nil, []byte("seed message"), []byte("ad")), []byte("ad"))
		f.Add(name, []byte{}, []byte{})
	}
	f.Fuzz(func(t *testing.T, name string, sealed, ad []byte) {
		s, err := NewSealer(name, k)
		if err != nil {
			return
		}
		out, err := s.Open(nil, sealed, ad)
		if err != nil {
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: error %v is not ErrAuth", name, err)
			}
			return
		}
		// Only a message sealed under this key opens; re-sealing must
		// give a message that opens to the same plaintext.
		again := s.Seal(nil, out, ad)
		if o2, err := s.Open(nil, again, ad); err != nil || !bytes.Equal(o2, out) {
			t.Fatalf("%s: round trip of an opened message: %v", name, err)
		}
	})
}
