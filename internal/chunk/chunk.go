package chunk

import (
	"errors"
	"sync"
)

// MaxLen is the largest chunk the format allows (a manifest run, an index
// entry's plaintext length): 8 MiB.
const MaxLen = 8 << 20

// ErrDamaged is wrapped by every error about damaged stored data (failed tag,
// wrong chunk id, bad structure, truncation).
var ErrDamaged = errors.New("damaged data")

// ErrMissing is wrapped by errors about chunks that no index knows.
var ErrMissing = errors.New("chunk missing")

// Run is one piece of a disk, in order: a chunk (Hole false, ID set: the
// id of its content) or a hole of Len zero bytes. A chunk with Delta set is
// stored as a delta (delta.go), not as a blob of its own.
type Run struct {
	Len   int64
	Hole  bool
	ID    ID
	Delta *Delta
}

// claimShards spreads a claim set over this many locks.
const claimShards = 64

// ClaimSet is the set of chunk ids stored (or being stored) in a session:
// a sharded map keyed by the 32-byte id, about 40-50 bytes per entry. Safe
// for concurrent use.
type ClaimSet struct {
	shards [claimShards]struct {
		mu sync.Mutex
		m  map[ID]struct{}
	}
}

// NewClaimSet returns an empty set.
func NewClaimSet() *ClaimSet {
	c := &ClaimSet{}
	for i := range c.shards {
		c.shards[i].m = make(map[ID]struct{})
	}
	return c
}

// Claim adds id and reports whether it was absent.
func (c *ClaimSet) Claim(id ID) bool {
	s := &c.shards[id[0]%claimShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; ok {
		return false
	}
	s.m[id] = struct{}{}
	return true
}
