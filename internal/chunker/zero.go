package chunker

import "bytes"

// ZeroBlock is the granularity of zero detection: aligned 4 KiB blocks of the
// disk. A run of at least HoleMin zero bytes made of whole aligned blocks
// becomes a hole; shorter zero runs stay inside data.
const (
	ZeroBlock = 4 << 10
	HoleMin   = 64 << 10
)

// ZeroChecker tests blocks for all-zero content with the runtime's vectorized
// comparison against a zero page. One per worker.
type ZeroChecker struct {
	page []byte
}

// NewZeroChecker returns a checker.
func NewZeroChecker() *ZeroChecker { return &ZeroChecker{page: make([]byte, ZeroBlock)} }

// IsZero reports whether b (at most ZeroBlock bytes) is all zero.
func (z *ZeroChecker) IsZero(b []byte) bool {
	return bytes.Equal(b, z.page[:len(b)])
}
