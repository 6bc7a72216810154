package archive

import (
	"context"
	mrand "math/rand/v2"
	"testing"
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
