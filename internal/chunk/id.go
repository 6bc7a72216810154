package chunk

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// IDSize is the size of a chunk id.
const IDSize = 32

// ID is a chunk id: keyed BLAKE3-256 of the chunk's plaintext.
type ID [IDSize]byte

// String is the id in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 bytes of the id in hex, for messages.
func (id ID) Short() string { return hex.EncodeToString(id[:8]) }

// ParseID decodes a hex id.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IDSize {
		return id, fmt.Errorf("bad chunk id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// IDHasher computes chunk ids. Not safe for concurrent use; one per worker.
type IDHasher struct {
	h *blake3.Hasher
}

// NewIDHasher returns a hasher keyed with key (crypt.ChunkIDKey).
func NewIDHasher(key [32]byte) *IDHasher {
	h, err := blake3.NewKeyed(key[:])
	if err != nil {
		panic(err) // the key has the right size by type
	}
	return &IDHasher{h: h}
}

// Sum returns the id of b.
func (x *IDHasher) Sum(b []byte) ID {
	x.h.Reset()
	x.h.Write(b)
	var id ID
	x.h.Sum(id[:0])
	return id
}
