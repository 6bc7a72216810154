package dedup

import (
	"os"
	"path/filepath"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
	"rb_module_rustack/internal/store"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestStoreSourceClosesUnindexedPacks: a chunk found in a pack that no
// index file lists (a session that crashed before its index) is read
// through a pack the source opens itself; Close closes it too, and a use
// after Close opens it again.
func TestStoreSourceClosesUnindexedPacks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	st, err := store.OpenDir(dir, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	cd := enginetest.Codec(t, "zstd", "", 1<<20, 1)
	h := chunk.NewIDHasher(crypt.ChunkIDKey(nil))
	w, err := st.NewWriter(crypt.None, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := enginetest.Text(5000)
	id := h.Sum(data)
	blob, _ := container.SealBlob(cd, w.Sealer(), id, data, nil, nil)
	if err := w.Put(id, blob, len(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "index", "*"))
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	si, err := st.LoadIndex()
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	src := StoreSource(st, si)
	got, err := (&Reader{Codec: cd, IDKey: crypt.ChunkIDKey(nil)}).LoadRun(src, chunk.Run{ID: id, Len: int64(len(data))}, make([]byte, len(data)))
	if err != nil || string(got) != string(data) {
		t.Fatalf("chunk of the unindexed pack: %v", err)
	}
	if openFDs(t) <= before {
		t.Fatal("the unindexed pack was read without being opened")
	}
	src.Close()
	if n := openFDs(t); n != before {
		t.Fatalf("%d descriptors open after Close, %d before", n, before)
	}
	// Used again after Close: the pack is opened again, not handed out closed.
	got, err = (&Reader{Codec: cd, IDKey: crypt.ChunkIDKey(nil)}).LoadRun(src, chunk.Run{ID: id, Len: int64(len(data))}, make([]byte, len(data)))
	if err != nil || string(got) != string(data) {
		t.Fatalf("chunk of the unindexed pack after Close: %v", err)
	}
	src.Close()
	if n := openFDs(t); n != before {
		t.Fatalf("%d descriptors open after the second Close, %d before", n, before)
	}
}
