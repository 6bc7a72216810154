package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
)

// hasProblem reports whether rep has a problem about object (a prefix
// will do) containing what.
func hasProblem(rep *CheckReport, object, what string) bool {
	for _, p := range rep.Problems {
		if strings.HasPrefix(p.Object, object) && strings.Contains(p.Problem, what) {
			return true
		}
	}
	return false
}

func TestCheckClean(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		ts := newTestStore(t, keyed)
		a := ts.session(makeChunks("a", 30))
		b := ts.session(makeChunks("b", 30))
		var calls []int64
		rep, err := ts.st.Check(context.Background(), CheckOptions{Refs: refsOf(a, b), ReadData: 1, Codec: ts.codec,
			IDKey: crypt.ChunkIDKey(ts.master), Progress: func(done, total int64) { calls = append(calls, done, total) }})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Packs != 2 || rep.IndexFiles != 2 || rep.Chunks != 60 || rep.Refs != 120 || rep.PacksRead != 2 ||
			rep.BlobsRead != 60 || rep.BytesRead == 0 || len(rep.Orphans) != 0 || len(rep.TempFiles) != 0 || rep.Missing != 0 {
			t.Fatalf("keyed %v: %+v", keyed, rep)
		}
		if len(calls) < 4 || calls[len(calls)-2] != calls[len(calls)-1] || calls[len(calls)-1] != rep.BytesRead {
			t.Fatalf("progress: %v", calls)
		}
		// Half the packs read.
		rep = ts.check(nil, 0.5)
		if !rep.OK() || rep.PacksRead != 1 || rep.BlobsRead != 30 {
			t.Fatalf("read 0.5: %+v", rep)
		}
		if _, err := ts.st.Check(context.Background(), CheckOptions{ReadData: 1}); err == nil {
			t.Fatal("reading data without a codec accepted")
		}
	}
}

func TestCheckOrphansAndTempFiles(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 10))
	ts.crashedSession(makeChunks("b", 10))
	os.WriteFile(filepath.Join(ts.dir, "index", ".tmp-0123456789abcdef-idx"), []byte("x"), 0o600)
	rep := ts.check(refsOf(a), 1)
	if !rep.OK() || len(rep.Orphans) != 1 || !strings.HasPrefix(rep.Orphans[0], "packs/") ||
		len(rep.TempFiles) != 1 || rep.TempFiles[0] != "index/.tmp-0123456789abcdef-idx" || rep.Chunks != 20 || rep.PacksRead != 2 {
		t.Fatalf("%+v", rep)
	}
}

func TestCheckMissingPack(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 10))
	b := ts.session(makeChunks("b", 10))
	pa := ts.packOf(a[0])
	os.Remove(filepath.Join(ts.dir, pa))
	rep := ts.check(refsOf(a, b), 0)
	if rep.OK() || !hasProblem(rep, pa, "missing") || rep.Missing != 10 || !hasProblem(rep, "references", "missing or damaged pack") {
		t.Fatalf("%+v", rep)
	}
}

func TestCheckMissingReference(t *testing.T) {
	ts := newTestStore(t, false)
	a := ts.session(makeChunks("a", 10))
	var ghost chunk.ID
	ghost[5] = 1
	rep := ts.check(refsOf(a, []chunk.ID{ghost}), 0)
	if rep.OK() || rep.Missing != 1 || len(rep.Problems) != 1 || rep.Problems[0].Chunk != ghost.String() ||
		!strings.Contains(rep.Problems[0].Problem, "in no index") {
		t.Fatalf("%+v", rep)
	}
}

func TestCheckDamagedBlob(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 10))
	si, _ := ts.st.LoadIndex()
	loc, _ := si.Index.Lookup(a[3])
	pa := packName(si.Packs[loc.File])
	flipByte(t, filepath.Join(ts.dir, pa), int64(loc.Off)+int64(loc.CLen)-3)
	// The structure is intact: only reading the data finds it.
	if rep := ts.check(refsOf(a), 0); !rep.OK() {
		t.Fatalf("without reading: %+v", rep)
	}
	rep := ts.check(refsOf(a), 1)
	if rep.OK() || rep.Missing != 1 || !hasProblem(rep, pa, "damaged") || !hasProblem(rep, pa, "does not match its name") {
		t.Fatalf("%+v", rep)
	}
	found := false
	for _, p := range rep.Problems {
		found = found || p.Object == pa && p.Chunk == a[3].String()
	}
	if !found {
		t.Fatalf("the damaged chunk is not named: %+v", rep)
	}
}

func TestCheckDamagedPackHeader(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 10))
	b := ts.session(makeChunks("b", 10))
	c := ts.session(makeChunks("c", 10))
	// A pack with a damaged header.
	pc := ts.packOf(c[0])
	flipByte(t, filepath.Join(ts.dir, pc), 20)
	rep := ts.check(refsOf(a, b), 0)
	if rep.OK() || !hasProblem(rep, pc, "") || rep.Missing != 0 {
		t.Fatalf("%+v", rep)
	}
	if rep = ts.check(refsOf(c), 0); rep.Missing != 10 {
		t.Fatalf("refs to a damaged pack: %+v", rep)
	}
}

func TestCheckDamagedIndexFile(t *testing.T) {
	ts := newTestStore(t, true)
	before := ts.files()
	a := ts.session(makeChunks("a", 10))
	var idx string
	for n := range ts.files() {
		if _, ok := before[n]; !ok && strings.HasPrefix(n, "index/") {
			idx = n
		}
	}
	flipByte(t, filepath.Join(ts.dir, idx), -40)
	rep := ts.check(refsOf(a), 1)
	// Damaged, but the chunks are still in their pack, read through its own index.
	if rep.OK() || !hasProblem(rep, idx, "unreadable") || len(rep.Orphans) != 1 || rep.Missing != 0 {
		t.Fatalf("%+v", rep)
	}
}

// TestCheckIndexMismatch: an index file whose entry disagrees with the
// pack's own index (it is authentic: written with the key).
func TestCheckIndexMismatch(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 10))
	si, _ := ts.st.LoadIndex()
	loc, _ := si.Index.Lookup(a[0])
	pack := si.Packs[loc.File]
	id := a[0]
	es := []chunk.IndexEntry{{ID: id, Pack: 0, Off: loc.Off + 1, CLen: loc.CLen, PLen: loc.PLen}}
	var other chunk.ID
	other[0] = 0xff
	es = append(es, chunk.IndexEntry{ID: other, Pack: 0, Off: loc.Off, CLen: loc.CLen, PLen: loc.PLen})
	es = chunk.SortEntries(es)
	keys, _ := container.NewKeys(ts.cipher, ts.master)
	f, err := container.CreateFile(filepath.Join(ts.dir, "index"), "idx", container.KindIndex, keys, nil, container.FileOpts{HashContent: true})
	if err != nil {
		t.Fatal(err)
	}
	f.AddSection("index", chunk.EncodeIndex([]chunk.ID{pack}, es))
	sum, _ := f.Close()
	if err := ts.st.put(f, "index/"+chunk.ID(sum).String()+".idx"); err != nil {
		t.Fatal(err)
	}
	rep := ts.check(refsOf(a, []chunk.ID{other}), 0)
	pn := packName(pack)
	if rep.OK() || !hasProblem(rep, pn, "but in the pack at") || !hasProblem(rep, pn, "not in the pack's own index") || rep.Missing != 1 {
		t.Fatalf("%+v", rep)
	}
}

// TestCheckContentName: a pack under another name (a copy) is found when
// its data is read.
func TestCheckContentName(t *testing.T) {
	ts := newTestStore(t, false)
	a := ts.session(makeChunks("a", 5))
	b, _ := os.ReadFile(filepath.Join(ts.dir, ts.packOf(a[0])))
	fake := "packs/00/" + strings.Repeat("0", 64) + ".pack"
	os.MkdirAll(filepath.Join(ts.dir, "packs", "00"), 0o700)
	os.WriteFile(filepath.Join(ts.dir, fake), b, 0o600)
	rep := ts.check(nil, 1)
	if rep.OK() || !hasProblem(rep, fake, "does not match its name") || len(rep.Orphans) != 1 {
		t.Fatalf("%+v", rep)
	}
}

func TestLocalSweep(t *testing.T) {
	dir := t.TempDir()
	l := NewLocal(dir)
	old := time.Now().Add(-time.Hour)
	mk := func(rel string, age bool) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("abc"), 0o600)
		if age {
			os.Chtimes(p, old, old)
		}
	}
	mk("packs/ab/.tmp-1-pack", true)
	mk("packs/ab/.tmp-2-pack", false)
	mk("index/.tmp-3-idx", true)
	mk("locks/.tmp-4", true)
	mk(".tmp-config-5", true)
	mk("packs/ab/x.pack", true)
	mk(".hidden/.tmp-6", true)
	st, err := l.Staged(context.Background(), time.Minute)
	if err != nil || len(st) != 3 || st[0].Name != ".tmp-config-5" || st[1].Name != "index/.tmp-3-idx" || st[2].Name != "packs/ab/.tmp-1-pack" || st[0].Size != 3 {
		t.Fatalf("staged: %+v %v", st, err)
	}
	if all, _ := l.Staged(context.Background(), 0); len(all) != 4 {
		t.Fatalf("all staged: %+v", all)
	}
	n, b, err := l.Sweep(context.Background(), time.Minute)
	if err != nil || n != 3 || b != 9 {
		t.Fatalf("sweep: %d %d %v", n, b, err)
	}
	for _, rel := range []string{"packs/ab/.tmp-2-pack", "locks/.tmp-4", "packs/ab/x.pack", ".hidden/.tmp-6"} {
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Fatalf("%s removed", rel)
		}
	}
	if n, _, err := l.Sweep(context.Background(), 0); err != nil || n != 1 {
		t.Fatalf("sweep all: %d %v", n, err)
	}
}
