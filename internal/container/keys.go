package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"rb_module_rustack/internal/crypt"
)

// Keys are a file's salt and the sealer derived from it and the master key.
type Keys struct {
	Salt   []byte
	Sealer *crypt.Sealer
	cipher string
	check  string
}

// NewKeys makes a fresh random salt and its sealer. master is nil only for
// cipher none.
func NewKeys(cipherName string, master []byte) (*Keys, error) {
	salt := make([]byte, crypt.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	return keysFor(cipherName, master, salt)
}

func keysFor(cipherName string, master, salt []byte) (*Keys, error) {
	cipherName = crypt.Canonical(cipherName) // headers record the registered name
	if cipherName != crypt.None && len(master) != crypt.KeySize {
		return nil, fmt.Errorf("cipher %s needs a %d-byte master key", cipherName, crypt.KeySize)
	}
	k := &Keys{Salt: salt, cipher: cipherName}
	var dk [32]byte
	if cipherName != crypt.None {
		dk = crypt.DataKey(master, salt)
		kc := crypt.KeyCheck(master, salt)
		k.check = hex.EncodeToString(kc[:])
	}
	s, err := crypt.NewSealer(cipherName, dk)
	if err != nil {
		return nil, err
	}
	k.Sealer = s
	return k, nil
}

func (k *Keys) header(kind string, meta any) (Header, error) {
	h := Header{Format: 1, Kind: kind, Cipher: k.cipher, Salt: hex.EncodeToString(k.Salt), KeyCheck: k.check}
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return h, fmt.Errorf("header metadata: %w", err)
		}
		h.Meta = b
	}
	return h, nil
}
