package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"rb_module_rustack/internal/crypt"
)

type variant struct {
	name   string
	store  bool
	cipher string
	small  bool // small chunks
}

func variants() []variant {
	var vs []variant
	for _, st := range []bool{false, true} {
		for _, c := range []string{crypt.AES256GCM, crypt.ChaCha20Poly1305, crypt.None} {
			mode := "pool"
			if st {
				mode = "store"
			}
			vs = append(vs, variant{name: mode + "-" + c, store: st, cipher: c, small: c == crypt.ChaCha20Poly1305})
		}
	}
	return vs
}

func (v variant) open(t testing.TB, dir string, key []byte) *Repo {
	t.Helper()
	o := Options{Pool: filepath.Join(dir, "pool"), Cipher: v.cipher, ToolVersion: "test"}
	if v.store {
		o.Store = filepath.Join(dir, "store")
	}
	if v.cipher != crypt.None {
		o.Key = key
	}
	if v.small {
		o.ChunkMin, o.ChunkAvg, o.ChunkMax = 4<<10, 16<<10, 64<<10
	}
	r, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func cloneDisks(d map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range d {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// TestChains backs up full -> incremental -> incremental -> differential in
// every mode and cipher and restores every archive bit-exact.
func TestChains(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(t)
			r := v.open(t, dir, key)
			random := make([]byte, 1<<20+77)
			rand.Read(random)
			disks := map[string][]byte{
				"vda":  mixImage(11, 3<<20+4097, 256<<10), // zeros, random, text; odd size
				"vdb":  {0x42},                            // 1 byte
				"vdc":  {},                                // empty
				"vdd":  random,                            // incompressible, odd size
				"zero": make([]byte, 2<<20+3),             // one big hole
			}
			order := []string{"vda", "vdb", "vdc", "vdd", "zero"}
			type step struct {
				typ   Type
				state map[string][]byte
				sum   *Summary
			}
			var steps []*step
			do := func(typ Type) *step {
				s := &step{typ: typ, state: cloneDisks(disks)}
				s.sum = backupDisks(t, r, "vm-1", typ, disks, order)
				steps = append(steps, s)
				return s
			}
			full := do(Full)
			scatter(disks["vda"], 1, 0.01)
			inc1 := do(Incremental)
			copy(disks["vdd"][512<<10:], bytes.Repeat([]byte("changed "), 4096))
			disks["vdb"][0] = 0x43
			inc2 := do(Incremental)
			scatter(disks["vda"], 2, 0.005)
			diff := do(Differential)

			if full.sum.Type != Full || inc1.sum.Type != Incremental || inc2.sum.Type != Incremental || diff.sum.Type != Differential {
				t.Fatalf("types %s %s %s %s", full.sum.Type, inc1.sum.Type, inc2.sum.Type, diff.sum.Type)
			}
			if inc1.sum.Parent != full.sum.ArchiveID || inc2.sum.Parent != inc1.sum.ArchiveID || diff.sum.Parent != full.sum.ArchiveID {
				t.Fatalf("parents: %s %s %s", inc1.sum.Parent, inc2.sum.Parent, diff.sum.Parent)
			}
			// 7 blocks of 4 KiB changed: the incremental stores the chunks
			// around them, a fraction of the full.
			if inc1.sum.BytesNew*3 > full.sum.BytesNew {
				t.Fatalf("incremental stored %d new bytes, the full %d: dedup against the chain failed", inc1.sum.BytesNew, full.sum.BytesNew)
			}
			if !v.store && diff.sum.BytesNew < inc2.sum.BytesNew {
				// Pool mode: the differential holds everything new since
				// the full. (A store keeps everything, so there it stores
				// only what the store lacks.)
				t.Fatalf("differential (%d new bytes) should hold at least what changed since the full", diff.sum.BytesNew)
			}
			m, err := r.Load(context.Background(), inc2.sum.ArchiveID)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{full.sum.ArchiveID, inc1.sum.ArchiveID, inc2.sum.ArchiveID}; fmt.Sprint(m.Chain) != fmt.Sprint(want) {
				t.Fatalf("chain %v, want %v", m.Chain, want)
			}
			if !bytes.Contains(m.VM, []byte(`"flavor":"m1.small"`)) {
				t.Fatalf("VM description not kept: %s", m.VM)
			}
			if got := fmt.Sprint(m.Disks); got != "[{vda 3149825} {vdb 1} {vdc 0} {vdd 1048653} {zero 2097155}]" {
				t.Fatalf("disks %s", got)
			}
			for _, s := range steps {
				restoreAll(t, r, s.sum.ArchiveID, s.state)
				rep, err := r.Verify(context.Background(), s.sum.ArchiveID)
				if err != nil || len(rep.Damaged) != 0 || rep.Chunks == 0 {
					t.Fatalf("verify %s: %v %+v", s.sum.ArchiveID, err, rep)
				}
			}
			list, err := r.List(context.Background())
			if err != nil || len(list) != 4 {
				t.Fatalf("list: %v %d", err, len(list))
			}
			for i, in := range list {
				if in.ID != steps[i].sum.ArchiveID || in.Type != steps[i].typ || in.VMID != "vm-1" || in.Logical != 3149825+1+1048653+2097155 {
					t.Fatalf("list[%d] = %+v", i, in)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*")); len(m) != 0 {
				t.Fatalf("temporary files left: %v", m)
			}
		})
	}
}

func TestIncrementalWithoutBaseBecomesFull(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	r, _ := Open(Options{Pool: dir, Key: key})
	defer r.Close()
	ctx := context.Background()
	for _, typ := range []Type{Incremental, Differential} {
		b, err := r.Begin(ctx, BackupSpec{VMID: "x", VMName: "x", Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if b.Type() != Full || !strings.Contains(b.Note(), "full") {
			t.Fatalf("%s without base: type %s note %q", typ, b.Type(), b.Note())
		}
		b.Abort()
	}
	// A base written with another key is not usable: full, with a note.
	other, _ := Open(Options{Pool: dir, Key: testKey(t)})
	defer other.Close()
	backupDisks(t, other, "x", Full, map[string][]byte{"vda": {1, 2, 3}}, []string{"vda"})
	b, err := r.Begin(ctx, BackupSpec{VMID: "x", Type: Incremental})
	if err != nil {
		t.Fatal(err)
	}
	if b.Type() != Full || !strings.Contains(b.Note(), "another master key") {
		t.Fatalf("type %s note %q", b.Type(), b.Note())
	}
	b.Abort()
	// Another VM's archives are never a base.
	b, _ = other.Begin(ctx, BackupSpec{VMID: "y", Type: Incremental})
	if b.Type() != Full {
		t.Fatalf("another VM's archive used as base")
	}
	b.Abort()
	// Abort left nothing behind.
	ents, _ := os.ReadDir(dir)
	ents = slices.DeleteFunc(ents, func(e os.DirEntry) bool { return e.Name() == ".locks" || e.Name() == listCacheName })
	if len(ents) != 1 {
		t.Fatalf("pool holds %d files after aborts, want 1", len(ents))
	}
}

func TestRestoreFromCopiedChain(t *testing.T) {
	// Archives are self-contained: a chain copied elsewhere restores by path.
	dir := t.TempDir()
	key := testKey(t)
	r, _ := Open(Options{Pool: filepath.Join(dir, "pool"), Key: key})
	defer r.Close()
	disks := map[string][]byte{"vda": mixImage(3, 2<<20, 128<<10)}
	s1 := backupDisks(t, r, "v", Full, disks, []string{"vda"})
	scatter(disks["vda"], 3, 0.02)
	s2 := backupDisks(t, r, "v", Incremental, disks, []string{"vda"})
	tape := filepath.Join(dir, "tape")
	os.MkdirAll(tape, 0o700)
	for _, s := range []*Summary{s1, s2} {
		b, _ := os.ReadFile(s.Path)
		os.WriteFile(filepath.Join(tape, filepath.Base(s.Path)), b, 0o600)
	}
	r2, _ := Open(Options{Pool: filepath.Join(dir, "empty"), Key: key})
	defer r2.Close()
	restoreAll(t, r2, filepath.Join(tape, filepath.Base(s2.Path)), disks)
}
