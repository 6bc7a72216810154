package chunk

import (
	"bytes"
	"math/bits"
	"sync/atomic"
)

// Marks is a bitset parallel to a slice of index entries: one bit per
// entry (1/8 byte per chunk), for garbage collection's mark phase. Set
// is safe for concurrent use; the other methods are not safe concurrently
// with Set.
type Marks []uint64

// NewMarks returns n clear marks.
func NewMarks(n int) Marks { return make(Marks, (n+63)/64) }

// Set sets mark i. Safe for concurrent use.
func (m Marks) Set(i int) { atomic.OrUint64(&m[i>>6], 1<<(uint(i)&63)) }

// Clear clears mark i.
func (m Marks) Clear(i int) { m[i>>6] &^= 1 << (uint(i) & 63) }

// Has reports whether mark i is set.
func (m Marks) Has(i int) bool { return m[i>>6]&(1<<(uint(i)&63)) != 0 }

// Count is the number of marks set.
func (m Marks) Count() int {
	n := 0
	for _, w := range m {
		n += bits.OnesCount64(w)
	}
	return n
}

// SearchEntries returns the first position i of es (sorted by id, ids may
// repeat) with es[i].ID >= id, len(es) when there is none: a lower bound
// found by interpolation on the first 8 id bytes (ids are uniformly
// distributed, so a search touches a handful of entries), falling back to
// bisection when interpolation makes no progress.
func SearchEntries(es []IndexEntry, id ID) int {
	t := key8(&id)
	lo, hi := 0, len(es) // es[:lo] < id <= es[hi:]
	for step := 0; lo < hi; step++ {
		mid := lo + (hi-lo)/2
		if step < 8 && hi-lo > 8 {
			klo, khi := key8(&es[lo].ID), key8(&es[hi-1].ID)
			switch {
			case t <= klo:
				mid = lo
			case t > khi:
				return hi // es[hi-1] < id
			default:
				// klo < t <= khi: mid = lo + (t-klo)*(hi-1-lo)/(khi-klo), in 128 bits.
				h, l := bits.Mul64(t-klo, uint64(hi-1-lo))
				q, _ := bits.Div64(h, l, khi-klo)
				mid = lo + int(q)
			}
		}
		if bytes.Compare(es[mid].ID[:], id[:]) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
