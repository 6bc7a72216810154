package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"rb_module_rustack/internal/store"
)

// TestConcurrentStoreWriters: several writers (separate Repo instances, as
// separate processes would be) back up into one dedup store at once, with
// shared and private data; nothing is lost.
func TestConcurrentStoreWriters(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	shared := mixImage(5, 3<<20, 128<<10)
	const writers = 4
	type result struct {
		disks map[string][]byte
		sums  []*Summary
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key,
				ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10})
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			own := make([]byte, 1<<20+w)
			rand.Read(own)
			disks := map[string][]byte{"vda": append([]byte(nil), shared...), "vdb": own}
			for i := range 3 {
				typ := Full
				if i > 0 {
					typ = Incremental
					scatter(disks["vda"], uint64(w*10+i), 0.01)
				}
				s := backupDisks(t, r, fmt.Sprintf("vm%d", w), typ, disks, []string{"vda", "vdb"})
				results[w].sums = append(results[w].sums, s)
			}
			results[w].disks = disks
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	r, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key})
	defer r.Close()
	for _, res := range results {
		last := res.sums[len(res.sums)-1]
		restoreAll(t, r, last.ArchiveID, res.disks)
		for _, s := range res.sums {
			rep, err := r.Verify(context.Background(), s.ArchiveID)
			if err != nil || len(rep.Damaged) > 0 {
				t.Fatalf("verify %s: %v %+v", s.ArchiveID, err, rep)
			}
		}
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "store", "index", "*.idx"))
	if len(idx) != writers*3 {
		t.Fatalf("%d index files, want %d", len(idx), writers*3)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "*", "*", ".tmp-*"))
	if len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	// Concurrent writers may each store chunks the others are writing at the
	// same time; once published, every chunk is found by later writers: the
	// shared data backed up again stores nothing new.
	r2, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key,
		ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10})
	defer r2.Close()
	again := backupDisks(t, r2, "vm-new", Full, map[string][]byte{"vda": shared}, []string{"vda"})
	if again.NewChunks != 0 {
		t.Fatalf("shared data stored again: %d new chunks", again.NewChunks)
	}
}

// TestStorePackWithoutIndex: a pack whose index file is not there yet (a
// writer in flight or crashed) is still readable through its own trailer.
func TestStorePackWithoutIndex(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	r, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key})
	defer r.Close()
	disks := map[string][]byte{"vda": mixImage(8, 2<<20, 64<<10)}
	s := backupDisks(t, r, "v", Full, disks, []string{"vda"})
	idx, _ := filepath.Glob(filepath.Join(dir, "store", "index", "*.idx"))
	if len(idx) != 1 {
		t.Fatalf("%d index files", len(idx))
	}
	os.Remove(idx[0])
	restoreAll(t, r, s.ArchiveID, disks)
	st, err := store.OpenDir(filepath.Join(dir, "store"), key, false)
	if err != nil {
		t.Fatal(err)
	}
	si, err := st.LoadIndex()
	if err != nil || si.Index.Len() != 0 {
		t.Fatalf("index without files: %v %d", err, si.Index.Len())
	}
}

func TestStoreRefusesOtherKeyAndNoKey(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	r, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key})
	s := backupDisks(t, r, "v", Full, map[string][]byte{"vda": {1, 2, 3}}, []string{"vda"})
	r.Close()
	other, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: testKey(t)})
	defer other.Close()
	if _, err := other.Begin(context.Background(), BackupSpec{VMID: "v", Type: Full}); !isWrongKey(err) {
		t.Fatalf("backup into a store with another key: %v", err)
	}
	if _, err := other.Load(context.Background(), s.ArchiveID); !isWrongKey(err) {
		t.Fatalf("load with another key: %v", err)
	}
	none, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Cipher: "none"})
	defer none.Close()
	if _, err := none.Begin(context.Background(), BackupSpec{VMID: "v", Type: Full}); err == nil {
		t.Fatal("unencrypted backup into an encrypted store accepted")
	}
}

// TestTwoProcessesIntoOneStore runs two real processes (this test binary)
// that back up into one dedup store at the same time.
func TestTwoProcessesIntoOneStore(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	key := testKey(t)
	os.WriteFile(keyFile, key, 0o600)
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStoreWriter$")
		cmd.Env = append(os.Environ(), "RB_HELPER_DIR="+dir, fmt.Sprintf("RB_HELPER_N=%d", i))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("process %d: %s", i, out.String())
			}
		})
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	r, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key})
	defer r.Close()
	list, err := r.List(context.Background())
	if err != nil || len(list) != 6 {
		t.Fatalf("list: %v, %d archives, want 6", err, len(list))
	}
	for i := range 2 {
		disks := helperDisks(i, 2)
		var last string
		for _, in := range list {
			if in.VMID == fmt.Sprintf("p%d", i) {
				last = in.ID
			}
		}
		restoreAll(t, r, last, disks)
	}
}

// helperDisks is the data process n backs up in step k (deterministic, so
// the parent test can check the restore).
func helperDisks(n, k int) map[string][]byte {
	shared := mixImage(77, 2<<20, 128<<10)
	own := mixImage(uint64(100+n), 1<<20+n, 64<<10)
	for s := 1; s <= k; s++ {
		scatterSeeded(shared, uint64(n*10+s))
	}
	return map[string][]byte{"vda": shared, "vdb": own}
}

func scatterSeeded(img []byte, seed uint64) {
	r := mrand.New(mrand.NewPCG(seed, 9))
	for range 20 {
		b := r.IntN(len(img) / 4096)
		for i := b * 4096; i < b*4096+4096; i++ {
			img[i] = byte(r.Uint32())
		}
	}
}

// TestHelperStoreWriter is the child process of TestTwoProcessesIntoOneStore.
func TestHelperStoreWriter(t *testing.T) {
	dir := os.Getenv("RB_HELPER_DIR")
	if dir == "" {
		return // only meaningful as a child process
	}
	var n int
	fmt.Sscan(os.Getenv("RB_HELPER_N"), &n)
	key, err := os.ReadFile(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key,
		ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for k := range 3 {
		typ := Full
		if k > 0 {
			typ = Incremental
		}
		backupDisks(t, r, fmt.Sprintf("p%d", n), typ, helperDisks(n, k), []string{"vda", "vdb"})
	}
}

// TestStoreCopyWithoutPoolFile: an archive whose pool file is gone (a
// copy into this store, or a pool on another proxy) is found in the
// store by id: Load, RestoreDisk of a manifest not from Load, OpenImage
// and Verify, which names a damaged store copy.
func TestStoreCopyWithoutPoolFile(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	o := Options{Pool: filepath.Join(dir, "pool"), Store: filepath.Join(dir, "store"), Key: key,
		ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10}
	r, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	disks := map[string][]byte{"vda": mixImage(9, 2<<20, 128<<10)}
	s := backupDisks(t, r, "vm1", Full, disks, []string{"vda"})
	if err := os.Remove(s.Path); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	restoreAll(t, r, s.ArchiveID, disks)
	out := &memDisk{make([]byte, len(disks["vda"]))}
	if err := r.RestoreDisk(ctx, &Manifest{ID: s.ArchiveID}, "vda", out, RestoreOptions{}); err != nil || !bytes.Equal(out.b, disks["vda"]) {
		t.Fatalf("RestoreDisk of a manifest not from Load: %v", err)
	}
	ir, err := r.OpenImage(&Manifest{ID: s.ArchiveID}, 0)
	if err != nil {
		t.Fatalf("OpenImage: %v", err)
	}
	ir.Close()
	rep, err := r.Verify(ctx, s.ArchiveID)
	if err != nil || len(rep.Damaged) > 0 || rep.Chunks == 0 {
		t.Fatalf("verify of the store's copy: %v %+v", err, rep)
	}
	copies, _ := filepath.Glob(filepath.Join(dir, "store", "archives", "*"))
	if len(copies) != 1 {
		t.Fatalf("store copies: %v", copies)
	}
	b, err := os.ReadFile(copies[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-100] ^= 1
	if err := os.WriteFile(copies[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	rep, err = r2.Verify(ctx, s.ArchiveID)
	if err != nil || len(rep.Damaged) != 1 {
		t.Fatalf("verify of a damaged store copy: %v %+v", err, rep)
	}
}
