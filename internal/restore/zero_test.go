package restore

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/directio"
)

func TestDeviceWriterZeroes(t *testing.T) {
	for _, plain := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "dev")
		junk := bytes.Repeat([]byte{0xAB}, 5<<19)
		if err := os.WriteFile(p, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w := newDeviceWriter(f, f, plain)
		zeros := make([]byte, 256<<10)
		data := bytes.Repeat([]byte{7}, 256<<10)
		// A piece mixing data and holes: 100 B data, zeros to 200 KiB (an
		// aligned zero run from 4 KiB), data to the end.
		mixed := make([]byte, 256<<10)
		copy(mixed, bytes.Repeat([]byte{9}, 100))
		copy(mixed[200<<10:], bytes.Repeat([]byte{5}, 56<<10))
		writes := []struct {
			off int64
			b   []byte
		}{
			{0, zeros},                        // aligned zero range
			{256 << 10, data},                 // data
			{512<<10 + 512, zeros[:8192]},     // short and unaligned: written
			{600 << 10, mixed[:100<<10]},      // mixed, zero run of 96 KiB
			{768<<10 + 1000, mixed[:200<<10]}, // unaligned start: zero run from the first aligned block
			{1 << 20, zeros},                  // past... (grown below)
		}
		for _, x := range writes {
			if n, err := w.WriteAt(x.b, x.off); err != nil || n != len(x.b) {
				t.Fatalf("WriteAt(%d, %d): %d, %v", x.off, len(x.b), n, err)
			}
		}
		f.Close()
		got, _ := os.ReadFile(p)
		want := append([]byte(nil), junk...)
		for _, x := range writes {
			copy(want[x.off:], x.b)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("plain=%v: contents differ", plain)
		}
		// 256 KiB + 96 KiB + 49 blocks of 4 KiB + 256 KiB, where the file
		// system supports FALLOC_FL_ZERO_RANGE (ext4, xfs); 0 elsewhere.
		if z := w.zeroed.Load(); !plain && z != 0 && z != (256+96+196+256)<<10 {
			t.Errorf("zeroed %d bytes by fallocate, want %d", z, (256+96+196+256)<<10)
		}
		if plain && w.zeroed.Load() != 0 {
			t.Errorf("plain writer zeroed %d bytes by fallocate", w.zeroed.Load())
		}
		t.Logf("plain=%v: %d bytes zeroed by the kernel (0 where the file system lacks FALLOC_FL_ZERO_RANGE)", plain, w.zeroed.Load())
	}
}

// alignedSource hands WriteDevice a disk the way the engine does when asked
// for aligned pieces: 1 MiB pieces in 4 KiB-aligned memory, the last one
// short (the disk is not a multiple of 4 KiB), holes skipped or written as
// zeros.
type alignedSource struct{ disk []byte }

func (s alignedSource) RestoreDisk(_ context.Context, _ *archive.Manifest, _ string, dst io.WriterAt, o archive.RestoreOptions) error {
	const piece = 1 << 20
	buf := directio.Get(piece)
	defer directio.Put(buf)
	for off := 0; off < len(s.disk); off += piece {
		b := buf[:copy(buf, s.disk[off:min(off+piece, len(s.disk))])]
		if o.SkipHoles && !slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
			continue
		}
		if _, err := dst.WriteAt(b, int64(off)); err != nil {
			return err
		}
	}
	return nil
}

// TestWriteDevice: a disk written into an existing file (a volume of the
// test harness) is bit-exact, its zero ranges are left to the kernel, and
// its data go around the page cache (O_DIRECT): after the restore the
// file's cached pages are at most the unaligned tail's and the zeroed
// ranges', not the disk's; where O_DIRECT is refused, through it.
func TestWriteDevice(t *testing.T) {
	t.Run("direct", func(t *testing.T) { testWriteDevice(t, true) })
	// A device that refuses O_DIRECT is written through the page cache
	// (its write-back started as it goes), bit-exact all the same.
	t.Run("page cache", func(t *testing.T) {
		saved := openDirect
		defer func() { openDirect = saved }()
		openDirect = func(string) (*os.File, error) { return nil, unix.EINVAL }
		testWriteDevice(t, false)
	})
}

func testWriteDevice(t *testing.T, direct bool) {
	const size = 40<<20 + 1000
	disk := make([]byte, size)
	rng := rand.New(rand.NewPCG(3, 4))
	for off := 0; off < size; off += 2 << 20 { // 1 MiB of data, 1 MiB of zeros
		for i := off; i < min(off+1<<20, size); i++ {
			disk[i] = byte(rng.Uint32())
		}
	}
	p := filepath.Join(t.TempDir(), "volume")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xAB}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	// Drop the file's pages written above, so that what is cached
	// afterwards is what the restore put there.
	if f, err := os.Open(p); err == nil {
		f.Sync()
		unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
	d := Disk{Label: "vda", Bytes: size}
	zeroed, err := WriteDevice(context.Background(), alignedSource{disk}, &archive.Manifest{}, d, p, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs unix.Cachestat_t
	rng2 := unix.CachestatRange{Off: 0, Len: size}
	if err := unix.Cachestat(uint(f.Fd()), &rng2, &cs, 0); err != nil {
		t.Logf("cachestat: %v: the page cache is not checked", err)
	} else if df, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECT, 0); err != nil {
		t.Logf("no O_DIRECT here (%v): the page cache is not checked", err)
	} else {
		df.Close()
		if direct && cs.Cache > 16 {
			t.Errorf("%d pages of the volume are in the page cache after the restore: its data did not go around it", cs.Cache)
		}
		if !direct && cs.Cache < 20<<20/4096 {
			t.Errorf("%d pages of the volume are in the page cache: the restore did not write through it", cs.Cache)
		}
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, disk) {
		t.Fatal("the volume differs from the disk")
	}
	if zeroed < 20<<20 {
		t.Errorf("zeroed %d bytes, want the 20 MiB of zero ranges left to the kernel", zeroed)
	}
}
