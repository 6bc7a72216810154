package backup_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/restore"
)

// TestImagesRoundTrip backs up two images (parallelism 1, so one disk at a
// time), an incremental after a change, and restores the chain with
// restore.ToDir: the images come back byte for byte, in boot order.
func TestImagesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	content := map[string][]byte{"vda": make([]byte, 3<<20), "vdb": make([]byte, 1<<20+512)}
	for l, b := range content {
		for i := 0; i < len(b)/2; i++ {
			b[i] = byte(rng.IntN(256))
		}
		if err := os.WriteFile(filepath.Join(dir, l), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := archive.Open(archive.Options{Pool: filepath.Join(dir, "pool"), Cipher: "none", Compression: "zstd", Level: "fastest",
		ChunkMin: chunker.DefaultChunkMin, ChunkAvg: chunker.DefaultChunkAvg, ChunkMax: chunker.DefaultChunkMax})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	ctx := context.Background()
	run := func(typ archive.Type) *archive.Summary {
		var disks []*backup.Image
		for _, l := range []string{"vdb", "vda"} {
			im, err := backup.OpenImage(l, filepath.Join(dir, l))
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			disks = append(disks, im)
		}
		var note string
		s, err := backup.Images(ctx, repo, backup.ImagesOptions{Name: "vm", VMID: "vm-id", Type: typ, Disks: disks,
			DiskParallelism: 1, Note: func(n string) { note = n }})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if typ == archive.Incremental && note != "" {
			t.Errorf("incremental note %q", note)
		}
		return s
	}
	full := run(archive.Full)
	copy(content["vdb"][100:], "changed")
	os.WriteFile(filepath.Join(dir, "vdb"), content["vdb"], 0o600)
	incr := run(archive.Incremental)
	if incr.Parent != full.ArchiveID {
		t.Fatalf("parent %q, want %q", incr.Parent, full.ArchiveID)
	}
	m, err := repo.Load(ctx, incr.ArchiveID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Disks[0].Label != "vdb" || m.Disks[1].Label != "vda" {
		t.Errorf("disk order %+v", m.Disks)
	}
	out := filepath.Join(dir, "out")
	res, err := restore.ToDir(ctx, repo, m, restore.DirOptions{Dir: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Disks {
		got, _ := os.ReadFile(d.Path)
		if !bytes.Equal(got, content[d.Label]) {
			t.Errorf("disk %s differs", d.Label)
		}
	}
	if _, err := os.Stat(res.VMJSON); err != nil {
		t.Error(err)
	}
	// A second restore into the same directory refuses to overwrite.
	if _, err := restore.ToDir(ctx, repo, m, restore.DirOptions{Dir: out}); err == nil {
		t.Error("restore over existing images: no error")
	}
}
