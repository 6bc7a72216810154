package archive

import (
	"bytes"
	"context"
	mrand "math/rand/v2"
	"os"
	"testing"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
)

// deltaRuns counts the chunk runs of an archive's disk stored as deltas
// and their deepest nesting.
func deltaRuns(t testing.TB, r *Repo, id, label string) (n, depth int) {
	t.Helper()
	m, err := r.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := m.data.diskRuns(label)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range runs {
		if x.Delta != nil {
			n++
			depth = max(depth, x.Delta.Depth())
		}
	}
	return n, depth
}

// scatterSmall rewrites count random 512-byte sectors of img.
func scatterSmall(img []byte, seed uint64, count int) {
	r := mrand.New(mrand.NewPCG(seed, 11))
	for range count {
		s := r.IntN(len(img) / 512)
		for k := s * 512; k < s*512+512; k++ {
			img[k] = byte(r.Uint32())
		}
	}
}

// TestDeltaChains: a chain of many incrementals and differentials with
// scattered small writes, in every mode and cipher: changed chunks are
// stored as deltas (nested up to the rebase depth), every archive restores
// bit-exact and verifies clean, and an incremental stores about what
// changed, not whole chunks.
func TestDeltaChains(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			r := v.open(t, dir, testKey(t))
			disks := map[string][]byte{
				"vda": mixImage(21, 4<<20+1234, 128<<10),
				"vdb": mixImage(22, 1<<20, 64<<10),
			}
			order := []string{"vda", "vdb"}
			type step struct {
				state map[string][]byte
				sum   *Summary
			}
			var steps []step
			do := func(typ Type) *Summary {
				s := backupDisks(t, r, "vm-d", typ, disks, order)
				steps = append(steps, step{cloneDisks(disks), s})
				return s
			}
			do(Full)
			types := []Type{Incremental, Incremental, Differential, Incremental, Incremental, Incremental, Incremental, Differential, Incremental}
			maxDepth := 0
			sinceFull := 0
			for i, typ := range types {
				sinceFull++
				// 1 % of the 4 KiB blocks of vda, a few sectors of vdb.
				scatter(disks["vda"], uint64(100+i), 0.01)
				scatterSmall(disks["vdb"], uint64(200+i), 8)
				s := do(typ)
				if s.Type != typ {
					t.Fatalf("step %d: type %s, want %s", i, s.Type, typ)
				}
				n, depth := deltaRuns(t, r, s.ArchiveID, "vda")
				if n == 0 {
					t.Fatalf("step %d (%s): no chunk of vda stored as a delta", i, typ)
				}
				maxDepth = max(maxDepth, depth)
				// About 1 % of vda and 8 sectors of vdb changed since the
				// parent (for a differential: per step since the full):
				// without deltas each 4 KiB write costs a whole chunk
				// (about 15 % of the image here).
				changed := int64(len(disks["vda"])/100 + 8*512)
				if typ == Differential {
					changed *= int64(sinceFull)
				}
				// Stored: the chunks and patches (compressed) plus the
				// archive's header, index and manifest.
				if s.BytesStored > 2*changed+32<<10 {
					t.Fatalf("step %d (%s): %d bytes stored for about %d changed", i, typ, s.BytesStored, changed)
				}
			}
			if maxDepth < 2 {
				t.Fatalf("deltas never nested (depth %d): the chain did not build deltas on deltas", maxDepth)
			}
			// The random-access reader (mount, files) of the last archive:
			// whole and in odd pieces, bit-exact.
			last := steps[len(steps)-1]
			m, err := r.Load(context.Background(), last.sum.ArchiveID)
			if err != nil {
				t.Fatal(err)
			}
			ir, err := r.OpenImage(m, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range order {
				di, err := ir.Disk(l)
				if err != nil {
					t.Fatal(err)
				}
				want := last.state[l]
				got := make([]byte, len(want))
				for off := 0; off < len(got); off += 77777 {
					if _, err := di.ReadAt(got[off:min(len(got), off+77777)], int64(off)); err != nil && off+77777 < len(got) {
						t.Fatalf("read %s at %d: %v", l, off, err)
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("disk %s read through the image reader differs", l)
				}
			}
			ir.Close()
			for _, s := range steps {
				restoreAll(t, r, s.sum.ArchiveID, s.state)
				rep, err := r.Verify(context.Background(), s.sum.ArchiveID)
				if err != nil || len(rep.Damaged) != 0 {
					t.Fatalf("verify %s: %v %+v", s.sum.ArchiveID, err, rep)
				}
			}
		})
	}
}

// deltaChain backs up a full and n incrementals of one disk with
// scattered writes and returns the archive ids and images.
func deltaChain(t *testing.T, r *Repo, n int) ([]string, []map[string][]byte) {
	t.Helper()
	disks := map[string][]byte{"vda": mixImage(31, 3<<20, 96<<10)}
	var ids []string
	var states []map[string][]byte
	for i := 0; i <= n; i++ {
		typ := Incremental
		if i == 0 {
			typ = Full
		} else {
			scatter(disks["vda"], uint64(300+i), 0.01)
		}
		s := backupDisks(t, r, "vm-g", typ, disks, []string{"vda"})
		ids = append(ids, s.ArchiveID)
		states = append(states, cloneDisks(disks))
	}
	return ids, states
}

// TestDeltaDamage: a flipped bit in the patch of a chunk stored as a
// delta, or in one of its bases, is found by verify, which names the
// delta's byte range, and fails the restore, never restoring wrong data.
func TestDeltaDamage(t *testing.T) {
	for _, v := range []variant{{name: "pool-aes", cipher: crypt.AES256GCM}, {name: "store-none", store: true, cipher: crypt.None}} {
		t.Run(v.name, func(t *testing.T) {
			r := v.open(t, t.TempDir(), testKey(t))
			ids, states := deltaChain(t, r, 2)
			last := ids[len(ids)-1]
			m, err := r.Load(context.Background(), last)
			if err != nil {
				t.Fatal(err)
			}
			runs, _ := m.data.diskRuns("vda")
			var off int64
			var dr chunk.Run
			for _, x := range runs {
				if x.Delta != nil {
					dr = x
					break
				}
				off += x.Len
			}
			if dr.Delta == nil {
				t.Fatal("no chunk stored as a delta")
			}
			src, err := r.source(m.data, false)
			if err != nil {
				t.Fatal(err)
			}
			targets := map[string]chunk.ID{"patch": dr.Delta.Patch}
			for b := dr.Delta.Bases[0]; ; b = b.Delta.Bases[0] {
				if b.Delta == nil {
					targets["base"] = b.ID
					break
				}
			}
			for what, id := range targets {
				ref, err := src.Locate(id)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				path, pos := ref.File.Path, int64(ref.Off)+int64(ref.CLen)/2
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 1)
				f.ReadAt(b, pos)
				flip := func() { b[0] ^= 0x04; f.WriteAt(b, pos) }
				flip()
				rep, verr := r.Verify(context.Background(), last)
				named := false
				if verr == nil {
					for _, d := range rep.Damaged {
						named = named || d.Offset <= off && off < d.Offset+d.Length
					}
				}
				if verr == nil && !named {
					t.Errorf("%s flipped: verify does not name bytes %d-%d: %+v", what, off, off+dr.Len, rep.Damaged)
				}
				checkDetected(t, r, last, states[len(states)-1], what+" flipped")
				flip()
				f.Close()
			}
			src.Close()
			restoreAll(t, r, last, states[len(states)-1])
		})
	}
}

// TestDeltaPruneKeepsBases: after every archive but the newest of a delta
// chain is forgotten and the store pruned, the newest still restores
// bit-exact and verifies clean: its patches and the chunks they patch
// (stored by the forgotten archives) are kept.
func TestDeltaPruneKeepsBases(t *testing.T) {
	r := variant{name: "store", store: true, cipher: crypt.AES256GCM}.open(t, t.TempDir(), testKey(t))
	ids, states := deltaChain(t, r, 5)
	ctx := context.Background()
	res, err := r.Forget(ctx, ForgetOptions{Policy: policy(t, "last", "1"), VMs: []string{"vm-g"}})
	if err != nil || len(res.Removed) != len(ids)-1 {
		t.Fatalf("forget: %+v %v", res, err)
	}
	if _, err := r.Prune(ctx, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	last := ids[len(ids)-1]
	if n, _ := deltaRuns(t, r, last, "vda"); n == 0 {
		t.Fatal("the newest archive has no delta")
	}
	restoreAll(t, r, last, states[len(states)-1])
	va, err := r.VerifyAll(ctx, VerifyAllOptions{ReadData: 1})
	if err != nil || len(va.Damaged) != 0 || va.Archives != 1 {
		t.Fatalf("verify --all: %+v %v", va, err)
	}
}
