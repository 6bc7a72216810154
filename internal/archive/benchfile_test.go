package archive

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestBackupFile backs up the image named by RB_BENCH_IMAGE (for profiling:
// go test -run BackupFile -cpuprofile cpu.out). Skipped without it.
func TestBackupFile(t *testing.T) {
	path := os.Getenv("RB_BENCH_IMAGE")
	if path == "" {
		t.Skip("set RB_BENCH_IMAGE to an image file to profile a backup of it")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := Open(Options{Pool: t.TempDir(), Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	t0 := time.Now()
	b, err := r.Begin(ctx, BackupSpec{VMID: "bench", VMName: "bench", Type: Full})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddDisk(ctx, "vda", f, st.Size(), nil); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	s, err := b.Commit(ctx)
	t.Logf("AddDisk %v, Commit %v", t1.Sub(t0), time.Since(t1))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup %s: %v, stored %d", path, time.Since(t0), s.BytesStored)
}

// TestRestoreFile restores archive RB_BENCH_ARCHIVE (pool RB_BENCH_POOL,
// key file RB_BENCH_KEY) into a temp file, for profiling. Skipped without.
func TestRestoreFile(t *testing.T) {
	arch := os.Getenv("RB_BENCH_ARCHIVE")
	if arch == "" {
		t.Skip("set RB_BENCH_ARCHIVE, RB_BENCH_POOL, RB_BENCH_KEY to profile a restore")
	}
	key, err := os.ReadFile(os.Getenv("RB_BENCH_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Pool: os.Getenv("RB_BENCH_POOL"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	m, err := r.Load(ctx, arch)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, d := range m.Disks {
		f, err := os.Create(t.TempDir() + "/" + d.Label)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(d.Size)
		if err := r.RestoreDisk(ctx, m, d.Label, f, RestoreOptions{SkipHoles: true}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	t.Logf("restore: %v", time.Since(t0))
}
