package units

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "65536": 65536, "65536B": 65536, " 64K ": 64 << 10, "64k": 64 << 10, "64KB": 64 << 10,
		"64KiB": 64 << 10, "64kib": 64 << 10, "1M": 1 << 20, "1MiB": 1 << 20, "1mb": 1 << 20,
		"2G": 2 << 30, "2GiB": 2 << 30, "3T": 3 << 40,
	}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "KiB", "iB", "64X", "-1", "+5", "1.5M", "64 K K", "99999999999999M",
		"99999999999999999999", "1P", "12iB"} {
		if n, err := ParseSize(in); !errors.Is(err, ErrSize) {
			t.Errorf("ParseSize(%q) = %d, %v; want ErrSize", in, n, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB", 64 << 20: "64.00 MiB",
		3 << 30: "3.00 GiB", 5 << 40: "5.00 TiB", 1 << 50: "1.00 PiB", 1 << 62: "4.00 EiB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
