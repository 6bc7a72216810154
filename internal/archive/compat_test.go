package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"rb_module_rustack/internal/crypt"
)

// compatCase is one archive of testdata/format-v1/expect.json.
type compatCase struct {
	Pool    string            `json:"pool"`
	Store   string            `json:"store"`
	Cipher  string            `json:"cipher"`
	NoKey   bool              `json:"nokey"`
	Archive string            `json:"archive"`
	Type    Type              `json:"type"`
	Parent  string            `json:"parent"`
	Disks   map[string]string `json:"disks"` // label -> sha256 of the source image
}

// TestFormatV1Fixtures reads archives that an earlier release wrote (pool
// and store mode, three ciphers, a chain of two) and restores every disk
// bit-exact; every archive verifies without damage. A change of the engine
// that can no longer read them breaks every backup users already have.
func TestFormatV1Fixtures(t *testing.T) {
	const dir = "testdata/format-v1"
	raw, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Cases []compatCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Cases) < 4 {
		t.Fatalf("expect.json lists %d cases, want at least 4", len(exp.Cases))
	}
	key, err := crypt.LoadKey(filepath.Join(dir, "master-key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range exp.Cases {
		t.Run(c.Archive, func(t *testing.T) {
			// A copy: reading must not need to write, but the fixture
			// must stay as it was written whatever the code does.
			work := t.TempDir()
			if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			o := Options{Pool: filepath.Join(work, c.Pool), Cipher: c.Cipher}
			if c.Store != "" {
				o.Store = filepath.Join(work, c.Store)
			}
			if !c.NoKey {
				o.Key = key
			}
			r, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			infos, err := r.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(infos, func(in Info) bool { return in.ID == c.Archive })
			if i < 0 {
				t.Fatalf("List does not show %s: %+v", c.Archive, infos)
			}
			if infos[i].Type != c.Type || infos[i].Parent != c.Parent {
				t.Errorf("List: type %s parent %q, want %s %q", infos[i].Type, infos[i].Parent, c.Type, c.Parent)
			}
			m, err := r.Load(ctx, c.Archive)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Disks) != len(c.Disks) {
				t.Fatalf("%d disks, want %d", len(m.Disks), len(c.Disks))
			}
			for _, d := range m.Disks {
				want, ok := c.Disks[d.Label]
				if !ok {
					t.Fatalf("unexpected disk %s", d.Label)
				}
				dst := &memDisk{b: make([]byte, d.Size)}
				// Holes written as zeros over a non-zero target: a
				// restore that drops a hole would show.
				for k := range dst.b {
					dst.b[k] = 0xa5
				}
				if err := r.RestoreDisk(ctx, m, d.Label, dst, RestoreOptions{}); err != nil {
					t.Fatalf("restore %s: %v", d.Label, err)
				}
				sum := sha256.Sum256(dst.b)
				if got := hex.EncodeToString(sum[:]); got != want {
					t.Errorf("disk %s: sha256 %s, want %s", d.Label, got, want)
				}
			}
			rep, err := r.Verify(ctx, c.Archive)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Damaged) > 0 || rep.Chunks == 0 {
				t.Errorf("verify: %d chunks, damage %+v", rep.Chunks, rep.Damaged)
			}
		})
	}
}
