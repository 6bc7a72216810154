package restore

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// freeName returns base if no server in taken has it, else base-1, base-2,
// ... (the first free one). Names compare exactly, as Nova stores them.
func freeName(base string, taken []string) string {
	set := make(map[string]bool, len(taken))
	for _, t := range taken {
		set[t] = true
	}
	if !set[base] {
		return base
	}
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s-%d", base, i)
		if !set[n] {
			return n
		}
	}
}

// safeLabel makes a disk label fit in a resource name (labels may be volume
// ids or device names such as "vda").
func safeLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
	if s == "" {
		return "disk"
	}
	return s
}

// VolumeName names the volume of one disk of a deployed server.
func VolumeName(server, label string) string {
	return server + "-" + safeLabel(label)
}

// SingleVolumeName names the volume of a --volume-only restore:
// <vm>-<label>-restored-<date>.
func SingleVolumeName(vm, label string, now time.Time) string {
	if vm == "" {
		vm = "vm"
	}
	return fmt.Sprintf("%s-%s-restored-%s", vm, safeLabel(label), now.UTC().Format("20060102-150405"))
}
