package directio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// writeFile writes a file of n bytes, every byte fill, synced.
func writeFile(t *testing.T, path string, n int, fill byte) *os.File {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{fill}, n), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReaderPath: a range the page cache does not hold is read through
// the O_DIRECT descriptor, a cached one and an unaligned one through the
// page cache. To tell the paths apart the test gives the Reader, as its
// O_DIRECT descriptor, another file: reads that went direct return that
// file's bytes.
func TestReaderPath(t *testing.T) {
	dir := t.TempDir()
	const size = 4 << 20
	f := writeFile(t, filepath.Join(dir, "disk"), size, 'd')
	writeFile(t, filepath.Join(dir, "decoy"), size, 'x').Close()
	saved := openDirect
	defer func() { openDirect = saved }()
	openDirect = func(*os.File) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, "decoy"), os.O_RDONLY|unix.O_DIRECT, 0)
	}
	r := NewReader(f)
	defer r.Close()
	if !r.Direct() {
		t.Skip("the temporary directory's file system refuses O_DIRECT")
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Len: size}, &cs, 0); err != nil {
		t.Skipf("cachestat: %v (Linux 6.5 and later)", err)
	}
	if cs.Cache != 0 {
		t.Skipf("%d pages still cached after FADV_DONTNEED", cs.Cache)
	}
	buf := Get(1 << 20)
	defer Put(buf)
	read := func(b []byte, off int64) byte {
		t.Helper()
		n, err := r.ReadAt(b, off)
		if n != len(b) || err != nil {
			t.Fatalf("read %d at %d: %d, %v", len(b), off, n, err)
		}
		if bytes.Count(b, b[:1]) != len(b) {
			t.Fatalf("read at %d mixes both files", off)
		}
		return b[0]
	}
	if got := read(buf, 0); got != 'x' {
		t.Errorf("cold aligned range: read %q, want the direct descriptor's 'x'", got)
	}
	// The next MiB cached: the page cache.
	if _, err := f.ReadAt(make([]byte, 1<<20), 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := read(buf, 1<<20); got != 'd' {
		t.Errorf("cached range: read %q, want the file's 'd'", got)
	}
	// Unaligned offset, length or memory: the page cache.
	if got := read(buf[:1<<19], 2<<20+512); got != 'd' {
		t.Errorf("unaligned offset: read %q", got)
	}
	if got := read(buf[:1000], 3<<20); got != 'd' {
		t.Errorf("unaligned length: read %q", got)
	}
	if got := read(buf[8:8+Align], 3<<20+Align); got != 'd' {
		t.Errorf("unaligned buffer: read %q", got)
	}
}

// TestReaderSameBytes: whatever path a read takes, it returns what
// os.File.ReadAt returns, count and error included, up to and past the
// end of a file whose size is not a multiple of Align.
func TestReaderSameBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	data := make([]byte, 3<<20+1000)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Fatalf("Seek end: %d, %v", end, err)
	}
	unix.Fadvise(int(ref.Fd()), 0, 0, unix.FADV_DONTNEED)
	buf, want := Get(2<<20), make([]byte, 2<<20)
	defer Put(buf)
	for _, c := range []struct {
		off int64
		n   int
	}{
		{0, 1 << 20}, {1 << 20, 2 << 20}, {3 << 20, Align}, // the last 1000 bytes in a page: short, io.EOF
		{3<<20 - Align, 2 * Align}, {4 << 20, Align}, {12345, 4096}, {2 << 20, 2<<20 - 1},
	} {
		n, err := r.ReadAt(buf[:c.n], c.off)
		wn, werr := ref.ReadAt(want[:c.n], c.off)
		if n != wn || !errors.Is(err, werr) || !bytes.Equal(buf[:n], want[:wn]) {
			t.Errorf("read %d at %d: %d, %v; os.File: %d, %v", c.n, c.off, n, err, wn, werr)
		}
	}
}

// TestReaderRefused: where O_DIRECT cannot be had every read goes through
// the page cache, correctly.
func TestReaderRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	f := writeFile(t, path, 1<<20, 'd')
	saved := openDirect
	defer func() { openDirect = saved }()
	openDirect = func(*os.File) (*os.File, error) { return nil, unix.EINVAL }
	r := NewReader(f)
	defer r.Close()
	if r.Direct() {
		t.Fatal("Direct after a refused open")
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	buf := Get(1 << 20)
	defer Put(buf)
	if n, err := r.ReadAt(buf, 0); n != 1<<20 || err != nil || bytes.Count(buf, []byte{'d'}) != n {
		t.Fatalf("read: %d, %v", n, err)
	}
	if r.File() != f {
		t.Fatal("File is not the file read")
	}
}
