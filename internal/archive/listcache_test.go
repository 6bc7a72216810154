package archive

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestListCache: List keeps what it read from the headers in the pool's
// .list-cache and uses an entry only while its file keeps its size and
// modification time; a damaged cache is ignored and replaced, and removed
// archives leave it.
func TestListCache(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Options{Pool: dir, Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	disks := map[string][]byte{"vda": mixImage(3, 1<<20, 64<<10)}
	a := backupDisks(t, r, "vm1", Full, disks, []string{"vda"})
	b := backupDisks(t, r, "vm2", Full, disks, []string{"vda"})
	ctx := context.Background()
	list := func() map[string]Info {
		t.Helper()
		l, err := r.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Info{}
		for _, in := range l {
			if in.Path != filepath.Join(dir, in.ID+archiveExt) {
				t.Fatalf("%s listed with path %q", in.ID, in.Path)
			}
			m[in.ID] = in
		}
		return m
	}
	first := list()
	if first[a.ArchiveID].VMID != "vm1" || first[b.ArchiveID].VMID != "vm2" || len(first) != 2 {
		t.Fatalf("first listing: %+v", first)
	}
	cachePath := filepath.Join(dir, listCacheName)
	files := readCache(t, cachePath)
	if len(files) != 2 {
		t.Fatalf("cache after the first listing: %d entries, want 2", len(files))
	}

	// The cache is what a listing reads: an entry changed in it (same
	// size and time as the file) is what List returns...
	e := files[a.ArchiveID+archiveExt]
	e.Info.VMName = "from the cache"
	files[a.ArchiveID+archiveExt] = e
	writeCache(t, cachePath, files)
	if got := list()[a.ArchiveID].VMName; got != "from the cache" {
		t.Fatalf("an entry of the cache was not used: vm name %q", got)
	}
	// ...until the file's modification time changes: then its header is
	// read again.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(a.Path, later, later); err != nil {
		t.Fatal(err)
	}
	if got := list()[a.ArchiveID].VMName; got != "vm vm1" {
		t.Fatalf("a changed file was listed from the cache: vm name %q", got)
	}

	// A damaged cache is ignored and replaced.
	if err := os.WriteFile(cachePath, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 2 || got[b.ArchiveID].VMID != "vm2" {
		t.Fatalf("listing with a damaged cache: %+v", got)
	}
	if n := len(readCache(t, cachePath)); n != 2 {
		t.Fatalf("the damaged cache was not replaced: %d entries", n)
	}

	// A removed archive leaves the listing and the cache.
	if err := os.Remove(b.Path); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 1 {
		t.Fatalf("listing after a removal: %+v", got)
	}
	if files := readCache(t, cachePath); len(files) != 1 || files[b.ArchiveID+archiveExt].Size != 0 {
		t.Fatalf("cache after a removal: %+v", files)
	}
}

// readCache parses the cache file p (nil when it is not one).
func readCache(t *testing.T, p string) map[string]listCacheEntry {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return parseListCache(b)
}

func writeCache(t *testing.T, p string, files map[string]listCacheEntry) {
	t.Helper()
	b, err := json.Marshal(listCache{Version: listCacheVersion, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzListCache: any bytes in the pool's cache file parse to a cache or
// to nothing, never a panic; a parsed cache encodes and parses back to
// the same entries.
func FuzzListCache(f *testing.F) {
	f.Add([]byte(`{"version":1,"files":{"a.rba":{"size":5,"mtime_ns":7,"info":{"id":"a","vm_id":"x","type":"full"}}}}`))
	f.Add([]byte(`{"version":2,"files":{}}`))
	f.Add([]byte(`{"version":1,"files":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		files := parseListCache(b)
		if files == nil {
			return
		}
		out, err := json.Marshal(listCache{Version: listCacheVersion, Files: files})
		if err != nil {
			t.Fatal(err)
		}
		again := parseListCache(out)
		if len(again) != len(files) {
			t.Fatalf("%d entries, %d after a round trip", len(files), len(again))
		}
		for k, e := range files {
			g, ok := again[k]
			if !ok || g.Size != e.Size || g.MTime != e.MTime || g.Info.ID != e.Info.ID || g.Info.VMID != e.Info.VMID {
				t.Fatalf("entry %q changed in a round trip", k)
			}
		}
	})
}
