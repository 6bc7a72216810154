package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"rb_module_rustack/internal/crypt"
)

func isWrongKey(err error) bool { return errors.Is(err, ErrWrongKey) }

// checkDetected asserts that verify reports damage for archive id and that
// restoring its disks fails for at least one disk. With unusedOK the damage
// may lie in data the archive does not use: then verify must find nothing
// and the restore must be exact.
func checkDetected(t *testing.T, r *Repo, id string, disks map[string][]byte, what string, unusedOK ...bool) {
	t.Helper()
	ctx := context.Background()
	rep, err := r.Verify(ctx, id)
	if err == nil && len(rep.Damaged) == 0 {
		if len(unusedOK) > 0 && unusedOK[0] {
			restoreAll(t, r, id, disks)
			return
		}
		t.Fatalf("%s: verify found nothing", what)
	}
	if err != nil && !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrMissing) {
		t.Fatalf("%s: verify error %v is not an integrity error", what, err)
	}
	m, err := r.Load(ctx, id)
	if err != nil {
		if !errors.Is(err, ErrIntegrity) {
			t.Fatalf("%s: load error %v is not an integrity error", what, err)
		}
		return
	}
	failed := false
	for _, d := range m.Disks {
		out := &memDisk{make([]byte, d.Size)}
		if err := r.RestoreDisk(ctx, m, d.Label, out, RestoreOptions{}); err != nil {
			if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrMissing) {
				t.Fatalf("%s: restore error %v is not an integrity error", what, err)
			}
			failed = true
		} else if string(out.b) != string(disks[d.Label]) {
			t.Fatalf("%s: disk %s restored WRONG data silently", what, d.Label)
		}
	}
	if !failed {
		t.Fatalf("%s: restore succeeded", what)
	}
}

func flipEach(t *testing.T, path string, step int, fn func(pos int)) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if step < 1 {
		step = 1
	}
	positions := []int{0, 8, 12, len(orig) / 2, len(orig) - 1, len(orig) - 9, len(orig) - 12, len(orig) - 30}
	for p := 0; p < len(orig); p += step {
		positions = append(positions, p)
	}
	for _, p := range positions {
		bad := append([]byte(nil), orig...)
		bad[p] ^= 0x10
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		fn(p)
	}
	os.WriteFile(path, orig, 0o600)
}

func TestFlippedBitsPool(t *testing.T) {
	for _, c := range []string{crypt.AES256GCM, crypt.None} {
		t.Run(c, func(t *testing.T) {
			dir := t.TempDir()
			v := variant{cipher: c, small: true}
			r := v.open(t, dir, testKey(t))
			disks := map[string][]byte{"vda": mixImage(4, 1<<20+5, 64<<10), "vdb": {9}}
			full := backupDisks(t, r, "v", Full, cloneDisks(disks), []string{"vda", "vdb"})
			changed := cloneDisks(disks)
			scatter(changed["vda"], 5, 0.05)
			inc := backupDisks(t, r, "v", Incremental, changed, []string{"vda", "vdb"})
			st, _ := os.Stat(full.Path)
			flipEach(t, full.Path, int(st.Size()/150), func(pos int) {
				checkDetected(t, r, full.ArchiveID, disks, "full archive byte "+itoa(pos))
			})
			// Damage in the parent is found when verifying or restoring the child.
			flipEach(t, full.Path, int(st.Size()/20), func(pos int) {
				checkDetected(t, r, inc.ArchiveID, changed, "parent byte "+itoa(pos), true)
			})
			st, _ = os.Stat(inc.Path)
			flipEach(t, inc.Path, int(st.Size()/100), func(pos int) {
				checkDetected(t, r, inc.ArchiveID, changed, "incremental byte "+itoa(pos))
			})
		})
	}
}

func TestFlippedBitsStore(t *testing.T) {
	dir := t.TempDir()
	v := variant{store: true, cipher: crypt.AES256GCM, small: true}
	r := v.open(t, dir, testKey(t))
	disks := map[string][]byte{"vda": mixImage(6, 1<<20+5, 64<<10)}
	s := backupDisks(t, r, "v", Full, disks, []string{"vda"})
	var files []string
	filepath.Walk(filepath.Join(dir, "store"), func(p string, fi os.FileInfo, err error) error {
		// locks/ holds lock files; archives/ the store's copy of the
		// archive, which restores do not read (the pool's file is).
		if err == nil && fi.IsDir() && (fi.Name() == "locks" || fi.Name() == "archives") {
			return filepath.SkipDir
		}
		if err == nil && !fi.IsDir() && filepath.Base(p) != "config" {
			files = append(files, p)
		}
		return nil
	})
	files = append(files, s.Path)
	sort.Strings(files)
	if len(files) != 3 {
		t.Fatalf("files %v: want a pack, an index and the archive", files)
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		flipEach(t, f, int(st.Size()/100), func(pos int) {
			checkDetected(t, r, s.ArchiveID, disks, filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)+" byte "+itoa(pos))
		})
	}
	// A damaged store config is reported too.
	cfg := filepath.Join(dir, "store", "config")
	flipEach(t, cfg, 7, func(pos int) {
		if _, err := r.Load(context.Background(), s.ArchiveID); err != nil {
			return // the archive itself is fine; the store is checked on use
		}
		m, _ := r.Load(context.Background(), s.ArchiveID)
		if err := r.RestoreDisk(context.Background(), m, "vda", &memDisk{make([]byte, len(disks["vda"]))}, RestoreOptions{}); err == nil {
			t.Fatalf("restore with store config damaged at byte %d succeeded", pos)
		}
	})
}

func TestWrongKey(t *testing.T) {
	for _, store := range []bool{false, true} {
		dir := t.TempDir()
		v := variant{store: store, cipher: crypt.AES256GCM}
		r := v.open(t, dir, testKey(t))
		disks := map[string][]byte{"vda": mixImage(2, 300<<10, 64<<10)}
		s := backupDisks(t, r, "v", Full, disks, []string{"vda"})
		wrong := v.open(t, dir, testKey(t))
		ctx := context.Background()
		if _, err := wrong.Load(ctx, s.ArchiveID); !isWrongKey(err) || !strings.Contains(err.Error(), "wrong master key") {
			t.Fatalf("store=%v load: %v", store, err)
		}
		if _, err := wrong.Verify(ctx, s.ArchiveID); !isWrongKey(err) {
			t.Fatalf("store=%v verify: %v", store, err)
		}
		if errors.Is(err(wrong, s.ArchiveID), ErrIntegrity) {
			t.Fatal("a wrong key is reported as damage")
		}
		m, _ := r.Load(ctx, s.ArchiveID)
		if err := wrong.RestoreDisk(ctx, m, "vda", &memDisk{make([]byte, len(disks["vda"]))}, RestoreOptions{}); !isWrongKey(err) {
			t.Fatalf("store=%v restore: %v", store, err)
		}
		// Without a key: a clear "needs a key" error.
		nokey, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Cipher: "none"})
		if _, err := nokey.Load(ctx, s.ArchiveID); !errors.Is(err, ErrKeyNeeded) {
			t.Fatalf("store=%v load without key: %v", store, err)
		}
		nokey.Close()
	}
}

func err(r *Repo, id string) error {
	_, e := r.Load(context.Background(), id)
	return e
}

func TestTruncatedArchive(t *testing.T) {
	dir := t.TempDir()
	r := variant{cipher: crypt.AES256GCM}.open(t, dir, testKey(t))
	disks := map[string][]byte{"vda": mixImage(2, 300<<10, 64<<10)}
	s := backupDisks(t, r, "v", Full, disks, []string{"vda"})
	b, _ := os.ReadFile(s.Path)
	for _, n := range []int{0, 10, len(b) / 3, len(b) - 1} {
		os.WriteFile(s.Path, b[:n], 0o600)
		_, e := r.Load(context.Background(), s.ArchiveID)
		if !errors.Is(e, ErrIntegrity) || !strings.Contains(e.Error(), s.ArchiveID) {
			t.Fatalf("truncated to %d: %v", n, e)
		}
		rep, e := r.Verify(context.Background(), s.ArchiveID)
		if e != nil || len(rep.Damaged) == 0 {
			t.Fatalf("verify truncated to %d: %v %+v", n, e, rep)
		}
	}
}

func TestMissingParent(t *testing.T) {
	dir := t.TempDir()
	r := variant{cipher: crypt.AES256GCM}.open(t, dir, testKey(t))
	disks := map[string][]byte{"vda": mixImage(2, 1<<20, 64<<10)}
	full := backupDisks(t, r, "v", Full, disks, []string{"vda"})
	scatter(disks["vda"], 1, 0.01)
	inc := backupDisks(t, r, "v", Incremental, disks, []string{"vda"})
	os.Remove(full.Path)
	ctx := context.Background()
	m, e := r.Load(ctx, inc.ArchiveID)
	if e != nil {
		t.Fatal(e)
	}
	e = r.RestoreDisk(ctx, m, "vda", &memDisk{make([]byte, len(disks["vda"]))}, RestoreOptions{})
	if !errors.Is(e, ErrMissingParent) || !strings.Contains(e.Error(), full.ArchiveID) {
		t.Fatalf("restore without parent: %v", e)
	}
	rep, e := r.Verify(ctx, inc.ArchiveID)
	if e != nil || len(rep.Damaged) == 0 || !strings.Contains(rep.Damaged[0].Problem, full.ArchiveID) {
		t.Fatalf("verify without parent: %v %+v", e, rep)
	}
	// A new incremental cannot use the broken chain: it becomes a full.
	b, e := r.Begin(ctx, BackupSpec{VMID: "v", Type: Incremental})
	if e != nil {
		t.Fatal(e)
	}
	if b.Type() != Full || !strings.Contains(b.Note(), full.ArchiveID) {
		t.Fatalf("incremental on a broken chain: %s %q", b.Type(), b.Note())
	}
	b.Abort()
}

func itoa(i int) string { return strconv.Itoa(i) }
