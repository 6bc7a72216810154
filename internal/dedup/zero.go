package dedup

import "bytes"

// ZeroBlock is the granularity of zero detection: aligned 4 KiB blocks of the
// disk. A run of at least HoleMin zero bytes made of whole aligned blocks
// becomes a hole; shorter zero runs stay inside data.
const (
	ZeroBlock = 4 << 10
	HoleMin   = 64 << 10
)

// zeroChecker tests blocks for all-zero content with the runtime's vectorized
// comparison against a zero page. One per worker.
type zeroChecker struct {
	page []byte
}

func newZeroChecker() *zeroChecker { return &zeroChecker{page: make([]byte, ZeroBlock)} }

// isZero reports whether b (at most ZeroBlock bytes) is all zero.
func (z *zeroChecker) isZero(b []byte) bool {
	return bytes.Equal(b, z.page[:len(b)])
}
