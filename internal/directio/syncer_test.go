package directio

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
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
