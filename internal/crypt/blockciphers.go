package crypt

import (
	"crypto/cipher"
	"fmt"

	"github.com/deatil/go-cryptobin/cipher/anubis"
	"github.com/deatil/go-cryptobin/cipher/aria"
	"github.com/deatil/go-cryptobin/cipher/camellia"
	"github.com/deatil/go-cryptobin/cipher/cast256"
	"github.com/deatil/go-cryptobin/cipher/kalyna"
	"github.com/deatil/go-cryptobin/cipher/kuznyechik"
	"github.com/deatil/go-cryptobin/cipher/mars"
	"github.com/deatil/go-cryptobin/cipher/serpent"
	"github.com/deatil/go-cryptobin/cipher/simon"
	"github.com/deatil/go-cryptobin/cipher/speck"
	"github.com/deatil/go-cryptobin/cipher/threefish"
	"github.com/emmansun/gmsm/sm4"
	//lint:ignore SA1019 Twofish is in the platform's cipher table by requirement; docs/encryption.md says to prefer AES
	"golang.org/x/crypto/twofish"
)

// The platform's table of block ciphers (docs/encryption.md), each used as
// an AEAD: the 128-bit-block ciphers in GCM (gcm.go), Kuznyechik also in
// MGM (mgm.go), the wide-block ciphers in CTR + HMAC-SHA-256 (ctrhmac.go).
// Names are <algorithm>-<key bits>; the key bits are those of the block
// cipher's key (a 32-byte data key is turned into it by CipherKey).

// blockCipher makes a block cipher from a key of the cipher's size.
type blockCipher func(key []byte) (cipher.Block, error)

// gcmCiphers are the 128-bit-block ciphers offered in GCM.
var gcmCiphers = []struct {
	name    string
	keySize int
	block   blockCipher
}{
	{"anubis-128", 16, anubis.NewCipher},
	{"anubis-256", 32, anubis.NewCipher},
	{"aria-128", 16, aria.NewCipher},
	{"aria-256", 32, aria.NewCipher},
	{"camellia-128", 16, camellia.NewCipher},
	{"camellia-256", 32, camellia.NewCipher},
	{"cast6-128", 16, cast256.NewCipher},
	{"cast6-256", 32, cast256.NewCipher},
	{"kalyna-128", 16, kalyna.NewCipher128_128}, // Kalyna-128/128
	{"kalyna-256", 32, kalyna.NewCipher128_256}, // Kalyna-128/256: 128-bit block, 256-bit key
	{"kuznyechik-256", 32, kuznyechik.NewCipher},
	{"mars-128", 16, mars.NewCipher},
	{"mars-256", 32, mars.NewCipher},
	{"serpent-128", 16, serpent.NewCipher},
	{"serpent-256", 32, serpent.NewCipher},
	{"simon-128", 16, simon.NewCipher128}, // Simon128/128
	{"sm4-128", 16, newSM4},
	{"speck-128", 16, speck.NewCipher}, // Speck128/128
	{"speck-256", 32, speck.NewCipher}, // Speck128/256
	{"twofish-128", 16, newTwofish},
	{"twofish-256", 32, newTwofish},
}

// wideCiphers are the ciphers with blocks wider than 128 bits, in CTR +
// HMAC-SHA-256.
var wideCiphers = []struct {
	name    string
	keySize int
	block   blockCipher
}{
	{"kalyna-512", 64, kalyna.NewCipher512_512}, // Kalyna-512/512
	{"threefish-256", 32, newThreefish},
	{"threefish-512", 64, newThreefish},
	{"threefish-1024", 128, newThreefish},
}

// KuznyechikMGM is Kuznyechik in MGM, the mode of its own standard family.
const KuznyechikMGM = "kuznyechik-mgm-256"

func init() {
	for _, c := range gcmCiphers {
		register(spec{name: c.name, keySize: c.keySize, mode: "GCM", new: gcmWith(c.name, c.keySize, c.block)})
	}
	for _, c := range wideCiphers {
		register(spec{name: c.name, keySize: c.keySize, mode: "CTR+HMAC-SHA-256", new: ctrHMACWith(c.name, c.keySize, c.block)})
	}
	register(spec{name: KuznyechikMGM, keySize: 32, mode: "MGM", new: func(key []byte) (cipher.AEAD, error) {
		b, err := newBlock(KuznyechikMGM, 32, kuznyechik.NewCipher, key)
		if err != nil {
			return nil, err
		}
		return newMGM(b)
	}})
}

// newBlock checks the key length and makes the block cipher.
func newBlock(name string, keySize int, block blockCipher, key []byte) (cipher.Block, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("%s: key of %d bytes, want %d", name, len(key), keySize)
	}
	b, err := block(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func gcmWith(name string, keySize int, block blockCipher) func([]byte) (cipher.AEAD, error) {
	return func(key []byte) (cipher.AEAD, error) {
		b, err := newBlock(name, keySize, block, key)
		if err != nil {
			return nil, err
		}
		return newGCM(b)
	}
}

func ctrHMACWith(name string, keySize int, block blockCipher) func([]byte) (cipher.AEAD, error) {
	return func(key []byte) (cipher.AEAD, error) {
		if len(key) != keySize {
			return nil, fmt.Errorf("%s: key of %d bytes, want %d", name, len(key), keySize)
		}
		return newCTRHMAC(name, key, func(k []byte) (cipher.Block, error) { return newBlock(name, keySize, block, k) })
	}
}

func newSM4(key []byte) (cipher.Block, error) { return sm4.NewCipher(key) }

func newTwofish(key []byte) (cipher.Block, error) { return twofish.NewCipher(key) }

// newThreefish is Threefish with the block size of its key and a zero
// tweak (the CTR counter makes every block's input unique).
func newThreefish(key []byte) (cipher.Block, error) {
	return threefish.NewCipher(key, make([]byte, 16))
}

// newThreefishTweak is Threefish with a given tweak (for its test vectors).
func newThreefishTweak(key, tweak []byte) (cipher.Block, error) {
	return threefish.NewCipher(key, tweak)
}
