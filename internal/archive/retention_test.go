package archive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/lock"
	"rb_module_rustack/internal/objstore"
	"rb_module_rustack/internal/objstore/objtest"
	"rb_module_rustack/internal/retention"
)

// backupAt backs up one disk "vda" of VM vm with the archive's point in
// time set to at.
func backupAt(t testing.TB, r *Repo, vm string, typ Type, img []byte, at time.Time) *Summary {
	t.Helper()
	ctx := context.Background()
	b, err := r.Begin(ctx, BackupSpec{VMID: vm, VMName: "vm " + vm, Type: typ, VM: vmJSON(vm), Created: at})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := b.AddDisk(ctx, "vda", &memDisk{img}, int64(len(img)), nil); err != nil {
		b.Abort()
		t.Fatalf("AddDisk: %v", err)
	}
	s, err := b.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return s
}

// ids lists the archive ids of the repository.
func ids(t testing.TB, r *Repo) []string {
	t.Helper()
	list, err := r.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range list {
		out = append(out, in.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func policy(t testing.TB, kv ...string) retention.Policy {
	t.Helper()
	var p retention.Policy
	for i := 0; i < len(kv); i += 2 {
		if err := p.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// chainRepo writes, one day apart: full F1, incrementals I2 I3, a
// differential D4 (on F1), an incremental I5 (on D4), a full F6 and an
// incremental I7. It returns the ids in that order and each one's image.
func chainRepo(t *testing.T, r *Repo) ([]string, map[string][]byte) {
	t.Helper()
	day0 := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	img := mixImage(1, 3<<20, 64<<10)
	types := []Type{Full, Incremental, Incremental, Differential, Incremental, Full, Incremental}
	var order []string
	images := map[string][]byte{}
	for i, typ := range types {
		if i > 0 {
			img = slices.Clone(img)
			scatter(img, uint64(i), 0.02)
		}
		s := backupAt(t, r, "vm1", typ, img, day0.AddDate(0, 0, i))
		if s.Type != typ {
			t.Fatalf("backup %d: type %s, want %s", i, s.Type, typ)
		}
		order = append(order, s.ArchiveID)
		images[s.ArchiveID] = img
	}
	return order, images
}

func TestForgetChainShapes(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Options{Pool: filepath.Join(dir, "pool"), Key: testKey(t), ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	a, images := chainRepo(t, r)
	F1, I2, I3, D4, I5, F6, I7 := a[0], a[1], a[2], a[3], a[4], a[5], a[6]
	utc := time.UTC

	// A dry run changes nothing but says what it would do and why.
	res, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1"), DryRun: true, Location: utc})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(res.Removed...), sorted(F1, I2, I3, D4, I5)) || res.Kept != 2 {
		t.Fatalf("dry run keep-last 1: removed %v, kept %d", res.Removed, res.Kept)
	}
	reasons := map[string]string{}
	for _, e := range res.VMs[0].Archives {
		reasons[e.ID] = e.Decision + ": " + strings.Join(e.Reasons, ", ")
	}
	if reasons[I7] != "keep: last 1" || !strings.HasPrefix(reasons[F6], "keep: base of ") || reasons[I5] != "remove: " {
		t.Fatalf("reasons: %v", reasons)
	}
	if got := ids(t, r); len(got) != 7 {
		t.Fatalf("dry run removed archives: %v", got)
	}

	// keep-daily 3: I7, F6, I5 by the rule; I5 needs D4 and F1; I2 and I3
	// go.
	res, err = r.Forget(ctx, ForgetOptions{Policy: policy(t, "daily", "3"), Location: utc})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(res.Removed...), sorted(I2, I3)) {
		t.Fatalf("keep-daily 3 removed %v, want I2 I3", res.Removed)
	}
	if got := ids(t, r); !slices.Equal(got, sorted(F1, D4, I5, F6, I7)) {
		t.Fatalf("after keep-daily 3: %v", got)
	}
	for _, id := range []string{F1, D4, I5, F6, I7} {
		restoreAll(t, r, id, map[string][]byte{"vda": images[id]})
	}

	// Deleting a base another archive needs is refused and names it.
	_, err = r.Delete(ctx, []string{F6}, false, false)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), I7) {
		t.Fatalf("delete of a needed base: %v", err)
	}
	if _, err := r.Delete(ctx, []string{"no-such-archive"}, false, false); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("delete of an unknown archive: %v", err)
	}
	if got := ids(t, r); len(got) != 5 {
		t.Fatalf("a refused delete removed archives: %v", got)
	}

	// keep-last 1 now: I7 and its base F6 stay.
	res, err = r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1"), Location: utc})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, r); !slices.Equal(got, sorted(F6, I7)) || len(res.Removed) != 3 {
		t.Fatalf("after keep-last 1: %v (removed %v)", got, res.Removed)
	}
	restoreAll(t, r, I7, map[string][]byte{"vda": images[I7]})

	// --with-dependants removes the base and what needs it.
	del, err := r.Delete(ctx, []string{F6}, true, false)
	if err != nil || !slices.Equal(del.Removed, []string{I7, F6}) {
		t.Fatalf("delete --with-dependants: %v %v", del, err)
	}
	if got := ids(t, r); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}

	// A policy that keeps nothing is refused.
	if _, err := r.Forget(ctx, ForgetOptions{}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("empty policy: %v", err)
	}
	if _, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1"), VMs: []string{"nobody"}}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("unknown VM: %v", err)
	}
}

func TestConsolidate(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Options{Pool: filepath.Join(dir, "pool"), Key: testKey(t), ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	day0 := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	img := mixImage(3, 2<<20, 32<<10)
	f := backupAt(t, r, "vm1", Full, img, day0)
	img1 := slices.Clone(img)
	scatter(img1, 1, 0.05)
	i1 := backupAt(t, r, "vm1", Incremental, img1, day0.AddDate(0, 0, 1))
	img2 := slices.Clone(img1)
	scatter(img2, 2, 0.05)
	i2 := backupAt(t, r, "vm1", Incremental, img2, day0.AddDate(0, 0, 2))

	// I1 is needed by I2: a synthetic full is written, I1 stays.
	res, err := r.Consolidate(ctx, i1.ArchiveID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced || !slices.Equal(res.KeptBecause, []string{i2.ArchiveID}) {
		t.Fatalf("consolidate of a needed archive: %+v", res)
	}
	restoreAll(t, r, res.Full, map[string][]byte{"vda": img1})
	if err := r.removeArchive(ctx, nil, Info{ID: res.Full, Path: filepath.Join(dir, "pool", res.Full+archiveExt)}); err != nil {
		t.Fatal(err)
	}

	// The newest is replaced by a full of the same point in time.
	res, err = r.Consolidate(ctx, i2.ArchiveID)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replaced || len(res.Chain) != 3 {
		t.Fatalf("consolidate of the newest: %+v", res)
	}
	m, err := r.Load(ctx, res.Full)
	if err != nil || m.Type != Full || !m.Created.Equal(day0.AddDate(0, 0, 2)) || m.Parent != "" {
		t.Fatalf("synthetic full: %+v %v", m, err)
	}
	restoreAll(t, r, res.Full, map[string][]byte{"vda": img2})
	// Now nothing needs the old chain: keep-last 1 keeps only the full.
	fr, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, r); !slices.Equal(got, []string{res.Full}) || !slices.Equal(sorted(fr.Removed...), sorted(f.ArchiveID, i1.ArchiveID)) {
		t.Fatalf("after consolidate + keep-last 1: %v (removed %v)", got, fr.Removed)
	}
	// The next incremental builds on the synthetic full.
	img3 := slices.Clone(img2)
	scatter(img3, 3, 0.01)
	i3 := backupAt(t, r, "vm1", Incremental, img3, day0.AddDate(0, 0, 3))
	if i3.Parent != res.Full {
		t.Fatalf("next incremental's parent %s, want the synthetic full %s", i3.Parent, res.Full)
	}
	restoreAll(t, r, i3.ArchiveID, map[string][]byte{"vda": img3})
	if _, err := r.Consolidate(ctx, res.Full); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("consolidate of a full: %v", err)
	}
	// No temporary file is left in the pool.
	ents, _ := os.ReadDir(filepath.Join(dir, "pool"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

// du is the size of the files under dir.
func du(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, err := d.Info()
			if err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func TestForgetPruneStore(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		storeDir := filepath.Join(dir, "store")
		forgetPruneStore(t, dir, func(o *Options) { o.Store = storeDir }, func() int64 { return du(t, storeDir) })
	})
	// The same on an object store (in memory; the real Swift and S3 runs
	// are in cmd's tests), with uploads in flight in parallel.
	t.Run("object", func(t *testing.T) {
		dir := t.TempDir()
		m := objtest.NewMem()
		b, err := objstore.New(m, "site-a", objstore.Options{Spool: filepath.Join(dir, "spool"), Parallel: 3, BlockSize: 64 << 10, CacheBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		size := func() int64 {
			infos, err := m.List(context.Background(), "site-a/")
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, in := range infos {
				if !strings.Contains(in.Name, "/locks/") {
					n += in.Size
				}
			}
			return n
		}
		forgetPruneStore(t, dir, func(o *Options) { o.Store, o.StoreBackend = "mem://test/site-a", b }, size)
		if left, _ := os.ReadDir(filepath.Join(dir, "spool")); len(left) != 0 {
			t.Errorf("spool not empty: %d files", len(left))
		}
	})
}

func forgetPruneStore(t *testing.T, dir string, withStore func(*Options), storeBytes func() int64) {
	key := testKey(t)
	du := func(*testing.T, string) int64 { return storeBytes() }
	storeDir := ""
	opts := func(pool string) Options {
		o := Options{Pool: filepath.Join(dir, pool), Key: key, ChunkMin: 4 << 10, ChunkAvg: 16 << 10, ChunkMax: 64 << 10}
		withStore(&o)
		return o
	}
	r, err := Open(opts("poolA"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A second pool (another proxy) writes into the same store.
	rb, err := Open(opts("poolB"))
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	ctx := context.Background()
	day0 := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	images := map[string][]byte{}
	var order []string
	for i := 0; i < 4; i++ {
		img := mixImage(uint64(10+i), 3<<20, 32<<10) // mostly different each time
		s := backupAt(t, r, "vm1", Full, img, day0.AddDate(0, 0, i))
		images[s.ArchiveID] = img
		order = append(order, s.ArchiveID)
	}
	imgB := mixImage(99, 2<<20, 32<<10)
	sb := backupAt(t, rb, "vm2", Full, imgB, day0)

	before := du(t, storeDir)
	res, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1"), VMs: []string{"vm1"}})
	if err != nil || len(res.Removed) != 3 {
		t.Fatalf("forget: %+v %v", res, err)
	}
	afterForget := du(t, storeDir)
	// Dry run first: nothing changes.
	dry, err := r.Prune(ctx, PruneOptions{DryRun: true})
	if err != nil || dry.Store == nil || dry.Store.PacksDeleted+dry.Store.PacksRewritten == 0 {
		t.Fatalf("prune --dry-run: %+v %v", dry, err)
	}
	if du(t, storeDir) != afterForget {
		t.Fatal("a dry run changed the store")
	}
	rep, err := r.Prune(ctx, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := du(t, storeDir)
	if after >= before*2/3 || rep.BytesFreed <= 0 || rep.Archives != 2 {
		t.Fatalf("store %d -> %d bytes after forgetting 3 of 4 VM backups (report %+v, store %+v)", before, after, rep, rep.Store)
	}
	t.Logf("store %d -> %d bytes; %+v", before, after, *rep.Store)
	restoreAll(t, r, order[3], map[string][]byte{"vda": images[order[3]]})
	restoreAll(t, rb, sb.ArchiveID, map[string][]byte{"vda": imgB})
	va, err := r.VerifyAll(ctx, VerifyAllOptions{})
	if err != nil || len(va.Damaged) != 0 || va.Archives != 2 {
		t.Fatalf("verify --all: %+v %v", va, err)
	}
	// A second prune has nothing left to do.
	rep, err = r.Prune(ctx, PruneOptions{})
	if err != nil || rep.Store.PacksDeleted+rep.Store.PacksRewritten != 0 {
		t.Fatalf("second prune: %+v %v", rep.Store, err)
	}
}

func TestPruneSweepsAndLocks(t *testing.T) {
	dir := t.TempDir()
	pool := filepath.Join(dir, "pool")
	r, err := Open(Options{Pool: pool, Cipher: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	img := mixImage(5, 1<<20, 32<<10)
	backupAt(t, r, "vm1", Full, img, time.Now())
	// What a killed image backup leaves behind.
	tmp := filepath.Join(pool, ".tmp-0123456789abcdef-vm1-x-full-abcdef.rba")
	if err := os.WriteFile(tmp, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// A backup of the VM in flight (its shared lock) blocks forget of
	// that VM, with a message naming the holder...
	l, err := lock.Acquire(ctx, filepath.Join(pool, ".locks", vmLockName("vm1")), "test", lock.Shared, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Forget(ctx, ForgetOptions{Policy: policy(t, "none", "yes")})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("forget beside a backup of the VM: %v", err)
	}
	// ...and a backup in flight blocks prune.
	lp, err := lock.Acquire(ctx, filepath.Join(pool, ".locks", "pool"), "test", lock.Shared, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Prune(ctx, PruneOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("prune beside a backup: %v", err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal("the temporary file went while a writer held the pool")
	}
	l.Release()
	lp.Release()
	rep, err := r.Prune(ctx, PruneOptions{})
	if err != nil || rep.PoolTempFiles != 1 || rep.PoolTempBytes != 1<<20 {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file still there: %v", err)
	}
	res, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "none", "yes")})
	if err != nil || len(res.Removed) != 1 {
		t.Fatalf("forget --keep-none: %+v %v", res, err)
	}
}
