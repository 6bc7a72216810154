package directio

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSyncer: concurrent writers, syncs in the background, Wait after the
// last write; a sync that fails is reported by Wait; a nil Syncer is
// inert.
func TestSyncer(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSyncer(f, 64<<10)
	var wg sync.WaitGroup
	b := make([]byte, 16<<10)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 32 {
				n, err := f.WriteAt(b, int64((w*32+i)*len(b)))
				if err != nil {
					t.Error(err)
					return
				}
				s.Wrote(n)
			}
		}()
	}
	wg.Wait()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}

	// A descriptor that is gone: the background fdatasync fails, and Wait
	// says so (the final fsync of the file would not).
	g, err := os.Create(filepath.Join(t.TempDir(), "g"))
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	bad := NewSyncer(g, 1)
	bad.Wrote(1)
	if err := bad.Wait(); err == nil {
		t.Fatal("a failed background sync was not reported")
	}

	var none *Syncer
	none.Wrote(1 << 30)
	if err := none.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteback: a file written through the page cache with a write-back
// syncer has at most the pages written since the last start of write-back
// still dirty after Wait (without it all 8 MiB would stay dirty until the
// kernel's dirty_expire, 30 s by default).
func TestWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const every, total = 1 << 20, 8 << 20
	s := NewWriteback(f, every)
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i)
	}
	for off := 0; off < total; off += len(b) {
		n, err := f.WriteAt(b, int64(off))
		if err != nil {
			t.Fatal(err)
		}
		s.Wrote(n)
		if err := s.Wait(); err != nil { // one start per `every`, in order
			t.Fatal(err)
		}
	}
	var cs unix.Cachestat_t
	rng := unix.CachestatRange{Off: 0, Len: total}
	if err := unix.Cachestat(uint(f.Fd()), &rng, &cs, 0); err != nil {
		t.Skipf("cachestat: %v (Linux 6.5 and later)", err)
	}
	if max := uint64(every / os.Getpagesize()); cs.Dirty > max {
		t.Fatalf("%d pages still dirty after Wait, want at most %d (write-back was not started)", cs.Dirty, max)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
