package directio

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// stageSize is the container writer's buffer size, the usual request.
const stageSize = 4 << 20

// checkReturned fails the test if a buffer it took was not given back
// (enginetest.CheckDirectReturned, which imports this package).
func checkReturned(t *testing.T) {
	base := InUse()
	t.Cleanup(func() { checkInUse(t, base) })
}

func checkInUse(t *testing.T, base int) {
	if n := InUse(); n != base {
		t.Errorf("%d direct buffers in use at the end, %d at the start", n, base)
	}
}

func TestDirectBuffers(t *testing.T) {
	checkReturned(t)
	var held [][]byte
	for _, n := range []int{1, 4096, HugePage, stageSize, stageSize + 2*Align, 3*HugePage + 1} {
		b := Get(n)
		if len(b) != n {
			t.Fatalf("Get(%d): len %d", n, len(b))
		}
		if cap(b)%HugePage != 0 || cap(b) < n {
			t.Fatalf("Get(%d): cap %d, want whole huge pages", n, cap(b))
		}
		if bufAddr(b)%HugePage != 0 {
			t.Fatalf("Get(%d): address %#x not aligned to 2 MiB", n, bufAddr(b))
		}
		b = b[:cap(b)]
		for i := 0; i < len(b); i += 4096 {
			b[i] = byte(i)
		}
		b[len(b)-1] = 1
		held = append(held, b)
	}
	if got := InUse(); got < len(held) {
		t.Fatalf("%d buffers in use, want at least %d", got, len(held))
	}
	// A given-back buffer is reused for the next request of its size.
	last := held[len(held)-1]
	Put(last)
	again := Get(len(last))
	if bufAddr(again) != bufAddr(last) {
		t.Fatalf("a given-back %d-byte buffer was not reused", len(last))
	}
	held[len(held)-1] = again
	for _, b := range held {
		Put(b)
	}
	// Go memory and nil are ignored.
	Put(make([]byte, stageSize))
	Put(nil)
}

func TestDirectBuffersIdleBound(t *testing.T) {
	checkReturned(t)
	var held [][]byte
	for range 2 * maxIdleDirect / stageSize {
		held = append(held, Get(stageSize))
	}
	for _, b := range held {
		Put(b)
	}
	dmem.Lock()
	idle, mapped := dmem.idleBytes, 0
	for _, m := range dmem.maps {
		mapped += len(m) - HugePage
	}
	dmem.Unlock()
	if idle > maxIdleDirect {
		t.Fatalf("%d idle bytes kept, bound %d", idle, maxIdleDirect)
	}
	if InUse() == 0 && mapped > maxIdleDirect {
		t.Fatalf("%d bytes still mapped with no buffer in use, bound %d: given-back buffers were not unmapped", mapped, maxIdleDirect)
	}
}

// BenchmarkDirectBuffer gets, fills and gives back a 4 MiB direct buffer
// and reports how much of its mapping the kernel backs with huge pages
// (hugeKiB: 4096 where transparent huge pages are on and memory allows;
// it depends on the machine, so it is measured here, not asserted).
func BenchmarkDirectBuffer(b *testing.B) {
	b.SetBytes(stageSize)
	kb := 0
	for b.Loop() {
		buf := Get(stageSize)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		if n, err := anonHugeKB(bufAddr(buf)); err == nil {
			kb = n
		}
		Put(buf)
	}
	b.ReportMetric(float64(kb), "hugeKiB")
}

// anonHugeKB returns AnonHugePages of the mapping holding addr.
func anonHugeKB(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := mapRange(line); ok {
			in = lo <= uint64(addr) && uint64(addr) < hi
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			return strconv.Atoi(strings.Fields(line)[1])
		}
	}
	return 0, fmt.Errorf("no mapping holds %#x", addr)
}

func mapRange(line string) (lo, hi uint64, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
