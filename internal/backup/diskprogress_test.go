package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/restore"
)

// progressLog records per-disk reports and checks that each disk's never
// goes backwards or past its size.
type progressLog struct {
	t    *testing.T
	mu   sync.Mutex
	last map[string]int64
	size map[string]int64
	n    map[string]int
}

func newProgressLog(t *testing.T) *progressLog {
	return &progressLog{t: t, last: map[string]int64{}, size: map[string]int64{}, n: map[string]int{}}
}

func (p *progressLog) report(label string, done, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done < p.last[label] || done > size {
		p.t.Errorf("disk %s: %d of %d after %d", label, done, size, p.last[label])
	}
	p.last[label], p.size[label] = done, size
	p.n[label]++
}

// TestDiskProgress backs up two images read at once with a per-disk
// progress callback, then verifies and restores them with one: every disk
// is reported up to its total, in steps, and never backwards. vdb is
// sparse: the holes its probe skips count as read.
func TestDiskProgress(t *testing.T) {
	dir := t.TempDir()
	sizes := map[string]int64{"vda": 40<<20 + 123, "vdb": 9 << 20}
	var disks []*backup.Image
	for l, n := range sizes {
		b := make([]byte, n)
		for i := range b[:n/2] {
			b[i] = byte(i * 7 / 5)
		}
		p := filepath.Join(dir, l)
		if l == "vdb" {
			b = b[:n/2] // the rest a hole
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, n); err != nil {
			t.Fatal(err)
		}
		im, err := backup.OpenImage(l, p)
		if err != nil {
			t.Fatal(err)
		}
		defer im.Close()
		disks = append(disks, im)
	}
	repo, err := archive.Open(archive.Options{Pool: filepath.Join(dir, "pool"), Cipher: "none", Compression: "zstd", Level: "fastest",
		ChunkMin: chunker.DefaultChunkMin, ChunkAvg: chunker.DefaultChunkAvg, ChunkMax: chunker.DefaultChunkMax})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	ctx := context.Background()
	read := newProgressLog(t)
	s, err := backup.Images(ctx, repo, backup.ImagesOptions{Name: "vm", VMID: "vm", Type: archive.Full, Disks: disks,
		DiskParallelism: 2, DiskProgress: read.report})
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.Load(ctx, s.ArchiveID)
	if err != nil {
		t.Fatal(err)
	}
	written := newProgressLog(t)
	if _, err := restore.ToDir(ctx, repo, m, restore.DirOptions{Dir: filepath.Join(dir, "out"), Progress: written.report}); err != nil {
		t.Fatal(err)
	}
	checked := newProgressLog(t)
	rep, err := repo.VerifyWith(ctx, s.ArchiveID, archive.VerifyOptions{Progress: checked.report})
	if err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	for l, n := range sizes {
		// verify reads each distinct chunk once: its total is the disk's
		// data, less the holes and repeats.
		if d, tot := checked.last[l], checked.size[l]; d != tot || tot <= 0 || tot > n || checked.n[l] < 3 {
			t.Errorf("verify: disk %s last reported %d of %d (size %d) after %d reports", l, d, tot, n, checked.n[l])
		}
	}
	for what, p := range map[string]*progressLog{"read": read, "written": written} {
		for l, n := range sizes {
			if p.last[l] != n || p.size[l] != n {
				t.Errorf("%s: disk %s last reported %d of %d, want %d of %d", what, l, p.last[l], p.size[l], n, n)
			}
		}
		if p.n["vda"] < 3 {
			t.Errorf("%s: vda reported %d times; want steps on the way", what, p.n["vda"])
		}
	}
}
