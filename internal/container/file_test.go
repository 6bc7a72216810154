package container

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

func writeTestFile(t *testing.T, dir string, cipherName string, master []byte) (string, []chunk.IndexEntry, [][]byte) {
	t.Helper()
	keys, err := NewKeys(cipherName, master)
	if err != nil {
		t.Fatal(err)
	}
	w, err := CreateFile(dir, "x", KindPack, keys, map[string]string{"hello": "world"}, FileOpts{HashContent: true, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	var plains [][]byte
	h := chunk.NewIDHasher(crypt.ChunkIDKey(master))
	cdc := enginetest.Codec(t, "zstd", "fastest", 1<<20, 1)
	for i := range 5 {
		p := make([]byte, 1000*(i+1))
		if i%2 == 0 {
			rand.Read(p)
		}
		id := h.Sum(p)
		blob, _ := SealBlob(cdc, keys.Sealer, id, p, nil, nil)
		if err := w.PutBlob(id, blob, len(p)); err != nil {
			t.Fatal(err)
		}
		plains = append(plains, p)
	}
	entries := chunk.SortEntries(append([]chunk.IndexEntry(nil), w.Entries()...))
	if err := w.AddSection("index", chunk.EncodeIndex(nil, entries)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddSection("extra", []byte("more")); err != nil {
		t.Fatal(err)
	}
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, chunk.ID(sum).String())
	if err := w.Publish(final, false); err != nil {
		t.Fatal(err)
	}
	return final, entries, plains
}

func TestFileRoundTrip(t *testing.T) {
	for _, c := range []string{crypt.AES256GCM, crypt.ChaCha20Poly1305, crypt.None} {
		t.Run(c, func(t *testing.T) {
			dir := t.TempDir()
			var master []byte
			if c != crypt.None {
				master = make([]byte, 32)
				rand.Read(master)
			}
			path, entries, _ := writeTestFile(t, dir, c, master)
			// Only the final file is left.
			if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
				t.Fatalf("temporary files left: %v", m)
			}
			// The name is the content hash.
			b, _ := os.ReadFile(path)
			if sum := chunk.ID(blake3.Sum256(b)); sum.String() != filepath.Base(path) {
				t.Fatal("file name is not its content hash")
			}
			r, err := OpenFile(path, master, false)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ib, err := r.Section("index")
			if err != nil {
				t.Fatal(err)
			}
			_, es, err := chunk.ParseIndex(ib, true)
			if err != nil || len(es) != len(entries) {
				t.Fatalf("index: %v, %d entries", err, len(es))
			}
			if x, err := r.Section("extra"); err != nil || string(x) != "more" {
				t.Fatalf("extra section: %q %v", x, err)
			}
			if _, err := r.Section("nothere"); err == nil {
				t.Fatal("missing section read")
			}
			cdc := enginetest.Codec(t, "zstd", "", 1<<20, 1)
			h := chunk.NewIDHasher(crypt.ChunkIDKey(master))
			for _, e := range es {
				blob, err := r.ReadBlob(nil, e.Off, e.CLen)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := OpenBlob(cdc, r.Sealer(), h, e.ID, blob, int(e.PLen), nil, make([]byte, 0, e.PLen)); err != nil {
					t.Fatal(err)
				}
			}
			if c != crypt.None {
				other := make([]byte, 32)
				rand.Read(other)
				if _, err := OpenFile(path, other, false); !errors.Is(err, crypt.ErrWrongKey) {
					t.Fatalf("wrong key gave %v", err)
				}
				if _, err := OpenFile(path, nil, false); !errors.Is(err, ErrKeyNeeded) {
					t.Fatalf("no key gave %v", err)
				}
			}
			// Every flipped bit is detected: at open, in a section, or in a blob.
			for pos := 0; pos < len(b); pos += 1 + len(b)/300 {
				for _, bit := range []byte{1, 0x80} {
					bad := append([]byte(nil), b...)
					bad[pos] ^= bit
					if err := readAll(bad, master, cdc, h); err == nil {
						t.Fatalf("flipped bit %#x at byte %d of %d not detected", bit, pos, len(b))
					}
				}
			}
			// Truncation is detected.
			for _, n := range []int{0, 5, len(b) / 2, len(b) - 1} {
				if err := readAll(b[:n], master, cdc, h); err == nil {
					t.Fatalf("file truncated to %d bytes accepted", n)
				}
			}
		})
	}
}

// readAll opens a file from bytes and checks everything in it.
func readAll(b []byte, master []byte, cdc *codec.Codec, h *chunk.IDHasher) error {
	r, err := ReadFile(bytes.NewReader(b), int64(len(b)), "test", master, false)
	if err != nil {
		return err
	}
	ib, err := r.Section("index")
	if err != nil {
		return err
	}
	if _, err := r.Section("extra"); err != nil {
		return err
	}
	_, es, err := chunk.ParseIndex(ib, true)
	if err != nil {
		return err
	}
	pos, end := r.BlobArea()
	for _, e := range chunk.SortByOffset(es) {
		if int64(e.Off) != pos {
			return errors.New("blob area gap")
		}
		pos += int64(e.CLen)
		blob, err := r.ReadBlob(nil, e.Off, e.CLen)
		if err != nil {
			return err
		}
		if _, _, err := OpenBlob(cdc, r.Sealer(), h, e.ID, blob, int(e.PLen), nil, make([]byte, 0, e.PLen)); err != nil {
			return err
		}
	}
	if pos != end {
		return errors.New("blob area not covered")
	}
	return nil
}

func TestPublishNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "f")
	os.WriteFile(final, []byte("original"), 0o600)
	tmp := filepath.Join(dir, ".tmp-1")
	os.WriteFile(tmp, []byte("new"), 0o600)
	existed, err := Publish(tmp, final)
	if !existed {
		t.Fatal("publish replaced an existing file")
	}
	if err != nil {
		t.Fatalf("content-addressed publish over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(final); string(b) != "original" {
		t.Fatalf("existing file changed to %q", b)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Fatal("temporary file left")
	}
	// A file writer refuses an existing name unless content addressed.
	keys, _ := NewKeys(crypt.None, nil)
	for _, same := range []bool{false, true} {
		w, err := CreateFile(dir, "p", KindPack, keys, nil, FileOpts{})
		if err != nil {
			t.Fatal(err)
		}
		w.AddSection("index", chunk.EncodeIndex(nil, nil))
		w.Close()
		if err := w.Publish(final, same); (err == nil) != same {
			t.Fatalf("publish over an existing file, same content %v: %v", same, err)
		}
		w.Abort()
	}
	if b, _ := os.ReadFile(final); string(b) != "original" {
		t.Fatalf("existing file changed to %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestSetMetaRewritesHeader(t *testing.T) {
	dir := t.TempDir()
	keys, _ := NewKeys(crypt.None, nil)
	w, err := CreateFile(dir, "a", KindArchive, keys, map[string]int{"n": 1}, FileOpts{Rewritable: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetMeta(map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	w.AddSection("manifest", []byte("m"))
	if err := w.SetMeta(map[string]int{"n": 3}); err == nil {
		t.Fatal("header rewritten after a section")
	}
	w.Close()
	final := filepath.Join(dir, "a.rba")
	if err := w.Publish(final, false); err != nil {
		t.Fatal(err)
	}
	r, err := OpenFile(final, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if string(r.Header.Meta) != `{"n":2}` {
		t.Fatalf("meta %s", r.Header.Meta)
	}
	if m, err := r.Section("manifest"); err != nil || string(m) != "m" {
		t.Fatalf("section after rewrite: %q %v", m, err)
	}
}

// TestCachedAsksWithoutReading checks the page cache probe of ReadSpan: a
// file just written reports cached, the same file after its pages are
// dropped reports not cached, and asking did not read it back in.
func TestCachedAsksWithoutReading(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err == nil && fs.Type == unix.TMPFS_MAGIC {
		// tmpfs keeps its pages: use a disk-backed directory.
		d, err := os.MkdirTemp("/var/tmp", "cached-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte{7}, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &FileReader{osf: f}
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Len: 1 << 20}, &cs, 0); err != nil {
		// No cachestat (kernel before 6.5): never claim a cached range.
		if r.cached(0, 1<<20) {
			t.Fatalf("cachestat fails (%v) but cached says yes", err)
		}
		return
	}
	if !r.cached(4096, 64<<10) {
		t.Fatal("a file just written is not reported cached")
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r.cached(4096, 64<<10) {
			t.Fatal("pages dropped with FADV_DONTNEED are reported cached")
		}
	}
}
