package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/enginetest"
)

// testMaster is the master key of the keyed test stores.
var testMaster = bytes.Repeat([]byte{0x5a}, 32)

// testStore is a store in a temporary directory and the plaintext of
// every chunk written to it.
type testStore struct {
	t      testing.TB
	dir    string
	st     *Store
	master []byte
	cipher string
	codec  *codec.Codec
	hasher *chunk.IDHasher
	data   map[chunk.ID][]byte
}

func newTestStore(t testing.TB, keyed bool) *testStore {
	t.Helper()
	ts := &testStore{t: t, dir: filepath.Join(t.TempDir(), "store"), cipher: crypt.None, data: map[chunk.ID][]byte{}}
	if keyed {
		ts.master, ts.cipher = testMaster, "aes-256-gcm"
	}
	ts.codec = enginetest.Codec(t, "zstd", "", 1<<20, 1)
	ts.hasher = chunk.NewIDHasher(crypt.ChunkIDKey(ts.master))
	ts.reopen()
	return ts
}

func (ts *testStore) reopen() {
	ts.t.Helper()
	st, err := OpenDir(ts.dir, ts.master, true)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.st = st
}

// makeChunks returns n distinct chunks of 1-6 KiB, a third of them
// compressible.
func makeChunks(tag string, n int) [][]byte {
	r := mrand.New(mrand.NewPCG(uint64(len(tag)), uint64(tag[0])<<8|uint64(tag[len(tag)-1])))
	text := enginetest.Text(8 << 10)
	out := make([][]byte, n)
	for i := range out {
		size := 1000 + r.IntN(5000)
		b := make([]byte, size)
		if i%3 == 0 {
			copy(b, text[r.IntN(2<<10):])
		} else {
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		}
		copy(b, fmt.Sprintf("%s-%d|", tag, i))
		out[i] = b
	}
	return out
}

// session writes chunks in one writer session and returns their ids.
func (ts *testStore) session(chunks [][]byte) []chunk.ID {
	ts.t.Helper()
	w, err := ts.st.NewWriter(ts.cipher, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	ids := make([]chunk.ID, len(chunks))
	for i, data := range chunks {
		id := ts.hasher.Sum(data)
		blob, _ := container.SealBlob(ts.codec, w.Sealer(), id, data, nil, nil)
		if err := w.Put(id, blob, len(data)); err != nil {
			ts.t.Fatal(err)
		}
		ts.data[id] = data
		ids[i] = id
	}
	if _, err := w.Commit(); err != nil {
		ts.t.Fatal(err)
	}
	return ids
}

// crashedSession writes a session whose index file never appeared.
func (ts *testStore) crashedSession(chunks [][]byte) []chunk.ID {
	ts.t.Helper()
	before := ts.files()
	ids := ts.session(chunks)
	for n := range ts.files() {
		if _, ok := before[n]; !ok && strings.HasPrefix(n, "index/") {
			if err := os.Remove(filepath.Join(ts.dir, n)); err != nil {
				ts.t.Fatal(err)
			}
		}
	}
	return ids
}

// files maps the store's files (relative, slash-separated) to their sizes.
func (ts *testStore) files() map[string]int64 {
	ts.t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(ts.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ts.dir, p)
		out[filepath.ToSlash(rel)] = info.Size()
		return nil
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return out
}

// named returns the files whose names start with prefix, sorted.
func (ts *testStore) named(prefix string) []string {
	var out []string
	for n := range ts.files() {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// refsOf references every id of the lists (each twice: ids may repeat).
func refsOf(lists ...[]chunk.ID) func(mark func(chunk.ID)) error {
	return func(mark func(chunk.ID)) error {
		for _, l := range lists {
			for _, id := range l {
				mark(id)
				mark(id)
			}
		}
		return nil
	}
}

func (ts *testStore) prune(refs func(func(chunk.ID)) error, o PruneOptions) *PruneReport {
	ts.t.Helper()
	if o.Cipher == "" {
		o.Cipher = ts.cipher
	}
	if o.TempGrace == 0 {
		o.TempGrace = -1
	}
	rep, err := ts.st.Prune(context.Background(), refs, o)
	if err != nil {
		ts.t.Fatalf("prune: %v", err)
	}
	return rep
}

// readable checks that every id is found through the index files
// (LoadIndex) and its blob opens to the chunk written, byte for byte.
func (ts *testStore) readable(ids []chunk.ID) {
	ts.t.Helper()
	si, err := ts.st.LoadIndex()
	if err != nil {
		ts.t.Fatal(err)
	}
	packs := map[uint32]*container.FileReader{}
	defer func() {
		for _, r := range packs {
			r.Close()
		}
	}()
	for _, id := range ids {
		loc, ok := si.Index.Lookup(id)
		if !ok {
			ts.t.Fatalf("chunk %s is in no index file", id.Short())
		}
		r := packs[loc.File]
		if r == nil {
			if r, err = ts.st.OpenPack(si.Packs[loc.File]); err != nil {
				ts.t.Fatalf("chunk %s: %v", id.Short(), err)
			}
			packs[loc.File] = r
		}
		ts.checkBlob(r, id, loc)
	}
}

func (ts *testStore) checkBlob(r *container.FileReader, id chunk.ID, loc chunk.Loc) {
	ts.t.Helper()
	blob, err := r.ReadBlob(nil, loc.Off, loc.CLen)
	if err != nil {
		ts.t.Fatalf("chunk %s: %v", id.Short(), err)
	}
	got, _, err := container.OpenBlob(ts.codec, r.Sealer(), ts.hasher, id, blob, int(loc.PLen), nil, make([]byte, 0, loc.PLen))
	if err != nil {
		ts.t.Fatalf("chunk %s: %v", id.Short(), err)
	}
	if !bytes.Equal(got, ts.data[id]) {
		ts.t.Fatalf("chunk %s reads back different bytes", id.Short())
	}
}

// held returns the copies the store holds (by the index files and the
// own indexes of the packs none names): one entry per chunk and pack (a
// pack may be listed by two index files).
func (ts *testStore) held() []chunk.IndexEntry {
	ts.t.Helper()
	sc, err := ts.st.scan(context.Background())
	if err != nil {
		ts.t.Fatal(err)
	}
	type copyOf struct {
		id   chunk.ID
		pack uint32
	}
	seen := map[copyOf]bool{}
	var out []chunk.IndexEntry
	for _, e := range sc.rows {
		if c := (copyOf{e.ID, e.Pack}); !seen[c] {
			seen[c] = true
			out = append(out, e)
		}
	}
	return out
}

// exactly checks that the store holds each of ids once and nothing else,
// and that Check finds it clean, without orphans or staging files.
func (ts *testStore) exactly(ids []chunk.ID) {
	ts.t.Helper()
	want := map[chunk.ID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	seen := map[chunk.ID]bool{}
	for _, e := range ts.held() {
		if !want[e.ID] {
			ts.t.Fatalf("unreferenced chunk %s left", e.ID.Short())
		}
		if seen[e.ID] {
			ts.t.Fatalf("chunk %s held twice", e.ID.Short())
		}
		seen[e.ID] = true
	}
	if len(seen) != len(want) {
		ts.t.Fatalf("%d chunks held, want %d", len(seen), len(want))
	}
	ts.readable(ids)
	rep := ts.check(refsOf(ids), 1)
	if !rep.OK() || len(rep.Orphans) > 0 || len(rep.TempFiles) > 0 {
		ts.t.Fatalf("check after prune: %+v", rep)
	}
}

func (ts *testStore) check(refs func(func(chunk.ID)) error, readData float64) *CheckReport {
	ts.t.Helper()
	rep, err := ts.st.Check(context.Background(), CheckOptions{Refs: refs, ReadData: readData, Codec: ts.codec,
		IDKey: crypt.ChunkIDKey(ts.master), Rand: mrand.New(mrand.NewPCG(1, 1))})
	if err != nil {
		ts.t.Fatalf("check: %v", err)
	}
	return rep
}

func concat(lists ...[]chunk.ID) []chunk.ID {
	var out []chunk.ID
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// smallFiles makes Prune write small packs and index files for the test.
func smallFiles(t testing.TB, packTarget int64, indexMax int) {
	pt, im := gcPackTarget, gcIndexMax
	gcPackTarget, gcIndexMax = packTarget, indexMax
	t.Cleanup(func() { gcPackTarget, gcIndexMax = pt, im })
}

func TestPruneUnreferencedSessions(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			ts := newTestStore(t, keyed)
			a := ts.session(makeChunks("a", 30))
			keep := ts.files()
			b := ts.session(makeChunks("b", 20))
			c := ts.session(makeChunks("c", 25))
			before := ts.files()
			rep := ts.prune(refsOf(a), PruneOptions{})
			if rep.Packs != 3 || rep.PacksDeleted != 2 || rep.PacksRewritten != 0 || rep.IndexFiles != 3 ||
				rep.IndexFilesDeleted != 2 || rep.IndexFilesWritten != 0 || rep.PacksWritten != 0 ||
				rep.Chunks != 75 || rep.ChunksUsed != 30 || rep.ChunksRemoved != 45 || rep.BytesWritten != 0 {
				t.Fatalf("report: %+v", rep)
			}
			var total, kept int64
			for n, s := range before {
				if n != "config" {
					total += s
				}
			}
			for n, s := range keep {
				if n != "config" {
					kept += s
				}
			}
			if rep.BytesBefore != total || rep.BytesAfter != kept || rep.BytesFreed != total-kept {
				t.Fatalf("bytes: %+v, want before %d after %d", rep, total, kept)
			}
			// What stays is untouched.
			if got := ts.files(); !mapsEqualExceptLocks(got, keep) {
				t.Fatalf("files after prune: %v, want %v", got, keep)
			}
			ts.exactly(a)
			ts.readable(a)
			_ = b
			_ = c
		})
	}
}

// mapsEqualExceptLocks compares file lists, ignoring locks/.
func mapsEqualExceptLocks(a, b map[string]int64) bool {
	strip := func(m map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range m {
			if !strings.HasPrefix(k, "locks/") {
				out[k] = v
			}
		}
		return out
	}
	a, b = strip(a), strip(b)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPruneRewriteThreshold(t *testing.T) {
	ts := newTestStore(t, true)
	mostly := ts.session(makeChunks("mostly", 100)) // 97 of 100 used: kept at 10 %
	half := ts.session(makeChunks("half", 100))     // every other one used: rewritten
	used := concat(mostly[:97], everyOther(half))
	mostlyPack, halfPack := ts.packOf(mostly[0]), ts.packOf(half[0])
	rep := ts.prune(refsOf(used), PruneOptions{})
	if rep.PacksRewritten != 1 || rep.PacksDeleted != 0 || rep.PacksWritten != 1 || rep.IndexFilesWritten != 1 ||
		rep.IndexFilesDeleted != 1 || rep.ChunksRemoved != 50 || rep.ChunksUsed != 147 {
		t.Fatalf("report: %+v", rep)
	}
	ts.readable(used)
	// The kept pack stays as it was; the half-used one is gone.
	packsAfter := ts.named("packs/")
	if len(packsAfter) != 2 || !slices.Contains(packsAfter, mostlyPack) || slices.Contains(packsAfter, halfPack) {
		t.Fatalf("packs after: %v", packsAfter)
	}
	// The unused chunks of the kept pack are still there, those of the
	// rewritten one are not.
	have := map[chunk.ID]bool{}
	for _, e := range ts.held() {
		have[e.ID] = true
	}
	for i, id := range half {
		if have[id] != (i%2 == 0) {
			t.Fatalf("half chunk %d held: %v", i, have[id])
		}
	}
	for _, id := range mostly {
		if !have[id] {
			t.Fatal("a chunk of the kept pack is gone")
		}
	}
	// A lower threshold rewrites the mostly used pack as well; then the
	// store holds exactly what is referenced.
	rep = ts.prune(refsOf(used), PruneOptions{MaxUnused: 0.01})
	if rep.PacksRewritten != 1 || rep.ChunksRemoved != 3 {
		t.Fatalf("second prune: %+v", rep)
	}
	ts.exactly(used)
	// And a third one has nothing to do.
	before := ts.files()
	rep = ts.prune(refsOf(used), PruneOptions{MaxUnused: 0.01})
	if rep.PacksDeleted+rep.PacksRewritten+rep.IndexFilesWritten+rep.IndexFilesDeleted != 0 || rep.BytesFreed != 0 {
		t.Fatalf("third prune: %+v", rep)
	}
	if !mapsEqualExceptLocks(before, ts.files()) {
		t.Fatal("a prune with nothing to do changed files")
	}
}

func everyOther(ids []chunk.ID) []chunk.ID {
	var out []chunk.ID
	for i := 0; i < len(ids); i += 2 {
		out = append(out, ids[i])
	}
	return out
}

// TestPruneManyFiles: Prune's own packs and index files split as they
// fill, and each chunk is listed once.
func TestPruneManyFiles(t *testing.T) {
	smallFiles(t, 20<<10, 7)
	ts := newTestStore(t, true)
	var used []chunk.ID
	for i := range 4 {
		ids := ts.session(makeChunks(fmt.Sprintf("s%d", i), 40))
		used = append(used, everyOther(ids)...)
	}
	var events []string
	rep := ts.prune(refsOf(used), PruneOptions{Hook: func(e string) { events = append(events, e) }})
	if rep.PacksRewritten != 4 || rep.PacksWritten < 4 || rep.IndexFilesWritten != (80+6)/7 || rep.IndexFilesDeleted != 4 {
		t.Fatalf("report: %+v", rep)
	}
	// Order: new packs, new index files, old index files, old packs.
	rank := func(e string) int {
		switch {
		case strings.HasPrefix(e, "put packs/"):
			return 0
		case strings.HasPrefix(e, "put index/"):
			return 1
		case strings.HasPrefix(e, "delete index/"):
			return 2
		case strings.HasPrefix(e, "delete packs/"):
			return 3
		}
		t.Fatalf("event %q", e)
		return 0
	}
	if !slices.IsSortedFunc(events, func(a, b string) int { return rank(a) - rank(b) }) ||
		len(events) != rep.PacksWritten+rep.IndexFilesWritten+rep.IndexFilesDeleted+rep.PacksRewritten {
		t.Fatalf("events: %v", events)
	}
	ts.exactly(used)
}

func TestPruneDuplicates(t *testing.T) {
	ts := newTestStore(t, false)
	shared := makeChunks("shared", 30)
	a := ts.session(append(makeChunks("a", 10), shared...)) // fully used
	b := ts.session(append(makeChunks("b", 30), shared...)) // only the shared part used
	c := ts.session(append(makeChunks("c", 30), shared[:10]...))
	d := ts.session(append(makeChunks("d", 30), shared[10:]...))
	_, _ = c, d
	used := concat(a, c[:15], d[:15])
	rep := ts.prune(refsOf(used), PruneOptions{MaxUnused: 1e-9})
	// b's shared chunks are kept in a (which stays), so b goes whole; c
	// and d are rewritten without their copies of the shared chunks.
	if rep.PacksDeleted != 1 || rep.PacksRewritten != 2 || rep.Chunks != 130 || rep.ChunksUsed != 70 || rep.ChunksRemoved != 60 {
		t.Fatalf("report: %+v", rep)
	}
	ts.exactly(used)
	_ = b
}

// TestPruneUnindexedPacks: packs of sessions that crashed before their
// index file are collected when unused, and listed when used.
func TestPruneUnindexedPacks(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 20))
	lost := ts.crashedSession(makeChunks("lost", 20))
	found := ts.crashedSession(makeChunks("found", 20)) // somehow referenced
	if len(ts.named("packs/")) != 3 || len(ts.named("index/")) != 1 {
		t.Fatal("setup")
	}
	rep := ts.prune(refsOf(a, found), PruneOptions{})
	if rep.PacksDeleted != 1 || rep.IndexFilesWritten != 1 || rep.IndexFilesDeleted != 0 || rep.ChunksRemoved != 20 {
		t.Fatalf("report: %+v", rep)
	}
	ts.exactly(concat(a, found))
	_ = lost
}

// TestPruneDamagedIndexFile: an index file that cannot be read is kept;
// its pack is read through its own index, and no referenced chunk in it
// is lost.
func TestPruneDamagedIndexFile(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 20))
	before := ts.files()
	b := ts.session(makeChunks("b", 40))
	var bIndex string
	for n := range ts.files() {
		if _, ok := before[n]; !ok && strings.HasPrefix(n, "index/") {
			bIndex = n
		}
	}
	flipByte(t, filepath.Join(ts.dir, bIndex), -40) // in the sealed index section
	if _, err := ts.st.LoadIndex(); err == nil {
		t.Fatal("damage not detected")
	}
	used := concat(a, everyOther(b))
	rep := ts.prune(refsOf(used), PruneOptions{})
	if rep.IndexFilesDamaged != 1 || rep.PacksRewritten != 1 || rep.ChunksRemoved != 20 || len(rep.Problems) != 1 || rep.Problems[0].Object != bIndex {
		t.Fatalf("report: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, bIndex)); err != nil {
		t.Fatal("the damaged index file was deleted")
	}
	os.Remove(filepath.Join(ts.dir, bIndex)) // what an operator does after verify
	ts.exactly(used)
}

// flipByte flips the byte at off (from the end when negative).
func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPruneMissingReference(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 20))
	ts.session(makeChunks("b", 20))
	before := ts.files()
	var ghost chunk.ID
	ghost[0] = 0x42
	for _, dry := range []bool{false, true} {
		_, err := ts.st.Prune(context.Background(), refsOf(a, []chunk.ID{ghost}), PruneOptions{Cipher: ts.cipher, DryRun: dry, TempGrace: -1})
		if !errors.Is(err, chunk.ErrMissing) || !strings.Contains(err.Error(), " 1 referenced") || !strings.Contains(err.Error(), ghost.String()) {
			t.Fatalf("prune with a missing reference: %v", err)
		}
	}
	if !mapsEqualExceptLocks(before, ts.files()) {
		t.Fatal("files changed")
	}
	// A failing reader of references changes nothing either.
	_, err := ts.st.Prune(context.Background(), func(func(chunk.ID)) error { return errors.New("manifest unreadable") }, PruneOptions{Cipher: ts.cipher})
	if err == nil || !mapsEqualExceptLocks(before, ts.files()) {
		t.Fatalf("prune with failing references: %v", err)
	}
	// A referenced chunk whose pack is gone is missing too.
	os.Remove(filepath.Join(ts.dir, ts.packOf(a[0])))
	before = ts.files()
	if _, err := ts.st.Prune(context.Background(), refsOf(a), PruneOptions{Cipher: ts.cipher}); !errors.Is(err, chunk.ErrMissing) || !strings.Contains(err.Error(), " 20 referenced") {
		t.Fatalf("prune with a pack missing: %v", err)
	}
	if !mapsEqualExceptLocks(before, ts.files()) {
		t.Fatal("files changed")
	}
}

func TestPruneCipherMismatch(t *testing.T) {
	ts := newTestStore(t, true)
	if _, err := ts.st.Prune(context.Background(), refsOf(), PruneOptions{Cipher: crypt.None}); err == nil {
		t.Fatal("cipher none accepted for a keyed store")
	}
	if _, err := ts.st.Prune(context.Background(), refsOf(), PruneOptions{}); err == nil {
		t.Fatal("no cipher accepted")
	}
	un := newTestStore(t, false)
	if _, err := un.st.Prune(context.Background(), refsOf(), PruneOptions{Cipher: "aes-256-gcm"}); err == nil {
		t.Fatal("a keyed cipher accepted for an unkeyed store")
	}
}

func TestPruneDryRun(t *testing.T) {
	ts := newTestStore(t, true)
	a := ts.session(makeChunks("a", 50))
	b := ts.session(makeChunks("b", 50))
	ts.session(makeChunks("c", 50))
	ts.crashedSession(makeChunks("d", 10))
	old := filepath.Join(ts.dir, "packs", ".tmp-0123456789abcdef-pack")
	os.WriteFile(old, []byte("left by a dead writer"), 0o600)
	used := concat(a, everyOther(b))
	before := ts.files()
	dry, err := ts.st.Prune(context.Background(), refsOf(used), PruneOptions{DryRun: true, TempGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqualExceptLocks(before, ts.files()) {
		t.Fatal("a dry run changed files")
	}
	if !dry.DryRun || dry.TempFilesRemoved != 1 {
		t.Fatalf("dry run: %+v", dry)
	}
	real := ts.prune(refsOf(used), PruneOptions{})
	if dry.PacksDeleted != real.PacksDeleted || dry.PacksRewritten != real.PacksRewritten || dry.ChunksRemoved != real.ChunksRemoved ||
		dry.ChunksUsed != real.ChunksUsed || dry.IndexFilesDeleted != real.IndexFilesDeleted || dry.IndexFilesWritten != real.IndexFilesWritten ||
		dry.PacksWritten != real.PacksWritten || dry.BytesFreed != real.BytesFreed || dry.TempFilesRemoved != real.TempFilesRemoved {
		t.Fatalf("dry run %+v\nreal run %+v", dry, real)
	}
	// The estimate of bytes written is the copied blobs and index entries.
	if d := float64(dry.BytesWritten-real.BytesWritten) / float64(real.BytesWritten); d > 0.1 || d < -0.1 {
		t.Fatalf("estimate %d, written %d", dry.BytesWritten, real.BytesWritten)
	}
	ts.readable(used)
}

func TestPruneTempFiles(t *testing.T) {
	ts := newTestStore(t, false)
	a := ts.session(makeChunks("a", 5))
	hour := time.Now().Add(-time.Hour)
	write := func(rel string, old bool) string {
		p := filepath.Join(ts.dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
			t.Fatal(err)
		}
		if old {
			os.Chtimes(p, hour, hour)
		}
		return p
	}
	var gone, stay []string
	gone = append(gone, write("packs/ab/.tmp-0000000000000001-pack", true), write("index/.tmp-0000000000000002-idx", true),
		write(".tmp-config-0003", true), write("packs/.tmp-0000000000000004-pack", true))
	stay = append(stay, write("packs/ab/.tmp-0000000000000005-pack", false), write("locks/.tmp-0000000000000006-x", true),
		write("packs/ab/.other", true))
	rep := ts.prune(refsOf(a), PruneOptions{TempGrace: DefaultTempGrace})
	if rep.TempFilesRemoved != 4 || rep.TempBytesRemoved != 40 {
		t.Fatalf("report: %+v", rep)
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s left", p)
		}
	}
	for _, p := range stay {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed", p)
		}
	}
	ts.readable(a)
}

// TestPruneDamagedBlob: a pack to rewrite with a damaged blob is kept,
// with every other copy of that chunk.
func TestPruneDamagedBlob(t *testing.T) {
	ts := newTestStore(t, true)
	shared := makeChunks("shared", 1)
	a := ts.session(append(makeChunks("a", 20), shared...))
	ts.session(append(makeChunks("b", 40), shared...)) // would go: only its copy of shared is used, and a's is kept
	var bPack string
	for _, p := range ts.named("packs/") {
		if p != ts.packOf(a[0]) {
			bPack = p
		}
	}
	// Damage a's copy of the shared chunk, the one the plan keeps... a is
	// rewritten (half used), so its blob is read and found damaged.
	used := concat(everyOther(a[:20]), a[20:])
	aPack := ts.packOf(a[0])
	loc := ts.locIn(aPack, a[20])
	flipByte(t, filepath.Join(ts.dir, aPack), int64(loc.Off)+int64(loc.CLen)/2)
	rep := ts.prune(refsOf(used), PruneOptions{})
	if len(rep.Problems) != 1 || rep.Problems[0].Object != aPack || rep.Problems[0].Chunk != a[20].String() ||
		rep.PacksRewritten != 0 || rep.PacksDeleted != 0 {
		t.Fatalf("report: %+v", rep)
	}
	// Both packs stay: a's with the damaged copy, b's with the good one.
	for _, p := range []string{aPack, bPack} {
		if _, err := os.Stat(filepath.Join(ts.dir, p)); err != nil {
			t.Fatalf("%s deleted", p)
		}
	}
	// The other chunks still read.
	ts.readable(everyOther(a[:20]))
}

// TestStoreLock: the GC lock excludes shared holders.
func TestStoreLock(t *testing.T) {
	ts := newTestStore(t, false)
	x, err := ts.st.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ts.st.Lock(ctx, Shared); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shared under exclusive: %v", err)
	}
	x()
	s, err := ts.st.Lock(context.Background(), Shared)
	if err != nil {
		t.Fatal(err)
	}
	s()
	if _, err := os.Stat(filepath.Join(ts.dir, "locks", "gc")); err != nil {
		t.Fatal(err)
	}
}

// packOf is the object name of the pack the index files give for id.
func (ts *testStore) packOf(id chunk.ID) string {
	ts.t.Helper()
	si, _, err := ts.st.LoadIndexTolerant()
	if err != nil {
		ts.t.Fatal(err)
	}
	loc, ok := si.Index.Lookup(id)
	if !ok {
		ts.t.Fatalf("chunk %s not indexed", id.Short())
	}
	return packName(si.Packs[loc.File])
}

// locIn is where pack (an object name) holds id, by the pack's own index.
func (ts *testStore) locIn(pack string, id chunk.ID) chunk.IndexEntry {
	ts.t.Helper()
	name, err := chunk.ParseID(strings.TrimSuffix(filepath.Base(pack), ".pack"))
	if err != nil {
		ts.t.Fatal(err)
	}
	r, err := ts.st.OpenPack(name)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Section("index")
	if err != nil {
		ts.t.Fatal(err)
	}
	_, es, err := chunk.ParseIndex(b, true)
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, e := range es {
		if e.ID == id {
			return e
		}
	}
	ts.t.Fatalf("chunk %s not in %s", id.Short(), pack)
	return chunk.IndexEntry{}
}

// hexIDs renders ids one per line.
func hexIDs(ids []chunk.ID) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(hex.EncodeToString(id[:]))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// ownEntries returns the entries of pack (an object name) by its own index.
func (ts *testStore) ownEntries(pack string) (chunk.ID, []chunk.IndexEntry) {
	ts.t.Helper()
	name, err := chunk.ParseID(strings.TrimSuffix(filepath.Base(pack), ".pack"))
	if err != nil {
		ts.t.Fatal(err)
	}
	r, err := ts.st.OpenPack(name)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer r.Close()
	b, _ := r.Section("index")
	_, es, err := chunk.ParseIndex(b, true)
	if err != nil {
		ts.t.Fatal(err)
	}
	return name, es
}

// writeIndexFile publishes an index file naming packs and listing, for
// each pack, the entries given (their Pack fields are set here).
func (ts *testStore) writeIndexFile(packs []chunk.ID, entries [][]chunk.IndexEntry) {
	ts.t.Helper()
	var all []chunk.IndexEntry
	for i, es := range entries {
		for _, e := range es {
			e.Pack = uint32(i)
			all = append(all, e)
		}
	}
	all = chunk.SortEntries(all)
	keys, err := container.NewKeys(ts.cipher, ts.master)
	if err != nil {
		ts.t.Fatal(err)
	}
	f, err := container.CreateFile(filepath.Join(ts.dir, "index"), "idx", container.KindIndex, keys, nil, container.FileOpts{HashContent: true})
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := f.AddSection("index", chunk.EncodeIndex(packs, all)); err != nil {
		ts.t.Fatal(err)
	}
	sum, err := f.Close()
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := ts.st.put(f, "index/"+chunk.ID(sum).String()+".idx"); err != nil {
		ts.t.Fatal(err)
	}
}

// sessionWithoutIndex writes a session, removes its index file and
// returns its ids and its pack's name and entries.
func (ts *testStore) sessionWithoutIndex(tag string, n int) ([]chunk.ID, chunk.ID, []chunk.IndexEntry) {
	ts.t.Helper()
	before := ts.files()
	ids := ts.crashedSession(makeChunks(tag, n))
	for f := range ts.files() {
		if _, ok := before[f]; !ok && strings.HasPrefix(f, "packs/") {
			name, es := ts.ownEntries(f)
			return ids, name, es
		}
	}
	ts.t.Fatal("no new pack")
	return nil, chunk.ID{}, nil
}

// TestPrunePartlyListedPack: a kept pack that a replaced index file and an
// index file that stays each list in part (as the index files of an
// earlier prune, cut by id, may) is listed in full again; none of its
// chunks drops out of the index files.
func TestPrunePartlyListedPack(t *testing.T) {
	ts := newTestStore(t, true)
	k, kName, kEntries := ts.sessionWithoutIndex("k", 30)
	_, pName, pEntries := ts.sessionWithoutIndex("p", 10)
	// One file: the first half of k, and p (which goes, so the file is
	// replaced); another: the second half of k (it stays).
	ts.writeIndexFile([]chunk.ID{kName, pName}, [][]chunk.IndexEntry{kEntries[:15], pEntries})
	ts.writeIndexFile([]chunk.ID{kName}, [][]chunk.IndexEntry{kEntries[15:]})
	rep := ts.prune(refsOf(k), PruneOptions{})
	if rep.PacksDeleted != 1 || rep.PacksRewritten != 0 || rep.IndexFilesDeleted != 1 || rep.IndexFilesWritten != 1 {
		t.Fatalf("report: %+v", rep)
	}
	ts.exactly(k)
}

// TestPruneCopiesInTwoKeptPacks: a chunk in two packs that both stay and
// are both listed anew keeps both entries, in index files of two rounds
// (one file lists an id once).
func TestPruneCopiesInTwoKeptPacks(t *testing.T) {
	ts := newTestStore(t, false)
	shared := makeChunks("x", 3)
	a, aName, aEntries := ts.sessionWithoutIndex("a", 10)
	_ = a
	before := ts.files()
	ka := ts.crashedSession(append(makeChunks("ka", 10), shared...))
	kb := ts.crashedSession(append(makeChunks("kb", 10), shared...))
	var kaName, kbName chunk.ID
	var kaEntries, kbEntries []chunk.IndexEntry
	for f := range ts.files() {
		if _, ok := before[f]; ok || !strings.HasPrefix(f, "packs/") {
			continue
		}
		name, es := ts.ownEntries(f)
		if slices.ContainsFunc(es, func(e chunk.IndexEntry) bool { return e.ID == ka[0] }) {
			kaName, kaEntries = name, es
		} else {
			kbName, kbEntries = name, es
		}
	}
	// Each kept pack is named by an index file with a pack that goes.
	ts.writeIndexFile([]chunk.ID{kaName, aName}, [][]chunk.IndexEntry{kaEntries, aEntries[:5]})
	ts.writeIndexFile([]chunk.ID{kbName, aName}, [][]chunk.IndexEntry{kbEntries, aEntries[5:]})
	used := concat(ka, kb)
	rep := ts.prune(refsOf(used), PruneOptions{MaxUnused: 0.9})
	if rep.PacksDeleted != 1 || rep.IndexFilesDeleted != 2 || rep.IndexFilesWritten != 2 {
		t.Fatalf("report: %+v", rep)
	}
	copies := map[chunk.ID]int{}
	for _, e := range ts.held() {
		copies[e.ID]++
	}
	for _, id := range ka[10:] {
		if copies[id] != 2 {
			t.Fatalf("shared chunk %s: %d copies listed, want 2", id.Short(), copies[id])
		}
	}
	ts.readable(used)
	if rep := ts.check(refsOf(used), 1); !rep.OK() || len(rep.Orphans) != 0 {
		t.Fatalf("check: %+v", rep)
	}
	// Nothing left to do.
	if rep := ts.prune(refsOf(used), PruneOptions{MaxUnused: 0.9}); rep.IndexFilesWritten+rep.IndexFilesDeleted+rep.PacksDeleted != 0 {
		t.Fatalf("again: %+v", rep)
	}
}

// TestPruneDamagedIndexPartlyListed: the chunks of a pack that only a
// damaged index file listed, while a readable one names the pack too, are
// found through the pack's own index: prune neither stops nor loses them.
func TestPruneDamagedIndexPartlyListed(t *testing.T) {
	ts := newTestStore(t, true)
	k, kName, kEntries := ts.sessionWithoutIndex("k", 30)
	_, pName, pEntries := ts.sessionWithoutIndex("p", 10)
	before := ts.files()
	ts.writeIndexFile([]chunk.ID{kName}, [][]chunk.IndexEntry{kEntries[15:]})
	var damaged string
	for f := range ts.files() {
		if _, ok := before[f]; !ok {
			damaged = f
		}
	}
	ts.writeIndexFile([]chunk.ID{kName, pName}, [][]chunk.IndexEntry{kEntries[:15], pEntries})
	flipByte(t, filepath.Join(ts.dir, damaged), -40)
	rep := ts.prune(refsOf(k), PruneOptions{})
	if rep.IndexFilesDamaged != 1 || rep.PacksDeleted != 1 || rep.ChunksUsed != 30 {
		t.Fatalf("report: %+v", rep)
	}
	if c := ts.check(refsOf(k), 1); c.Missing != 0 {
		t.Fatalf("check: %+v", c)
	}
}
