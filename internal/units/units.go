package units

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSize is the error of a size that cannot be read; callers say what they
// wanted instead.
var ErrSize = errors.New("not a size")

// ParseSize reads a byte size: decimal digits with an optional binary unit,
// K, M, G or T (powers of 1024), case-insensitive, optionally followed by
// "iB" or "B" ("64K", "64k", "64KB", "64KiB", "1M", "2G", "65536", "65536B").
// Surrounding spaces are ignored. Signs, fractions, negative values and
// values that do not fit in an int64 are refused with an error wrapping
// ErrSize; zero is a valid size (callers check their ranges).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "B")
	t = strings.TrimSuffix(t, "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		} else if strings.HasSuffix(strings.ToUpper(strings.TrimSpace(s)), "IB") {
			return 0, fmt.Errorf("%q: %w", s, ErrSize) // "iB" needs a unit before it
		}
	}
	if t == "" || len(t) > 19 {
		return 0, fmt.Errorf("%q: %w", s, ErrSize)
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q: %w", s, ErrSize)
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q: %w", s, ErrSize)
	}
	return n * mult, nil
}

// FormatBytes writes n bytes with a binary unit and two decimals ("512 B",
// "64.00 KiB", "1.50 GiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
