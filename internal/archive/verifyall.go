package archive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/store"
)

// VerifyAllOptions tune VerifyAll.
type VerifyAllOptions struct {
	// ReadData is the share (0..1] of the data read and authenticated:
	// in store mode of the store's packs, in pool mode of the archives
	// (the others get the structural check). 1 reads everything.
	ReadData float64
	Rand     *rand.Rand // which share (nil: random)
	Progress func(done, total int64)
}

// VerifyAllReport is the outcome of VerifyAll.
type VerifyAllReport struct {
	Mode     string `json:"mode"`
	Archives int    `json:"archives"`
	// ArchivesRead: archives whose every chunk was read (pool mode).
	ArchivesRead int                `json:"archives_read"`
	Store        *store.CheckReport `json:"store,omitempty"`
	Damaged      []Damage           `json:"damaged"`
}

// VerifyAll checks every archive of the repository and, in store mode,
// the store itself (every referenced chunk present in an index, every
// index entry in its pack, orphan packs and temporary files reported, a
// share of the packs read completely). Damage is named by archive, disk
// and byte range where it is tied to one.
func (r *Repo) VerifyAll(ctx context.Context, o VerifyAllOptions) (*VerifyAllReport, error) {
	if o.ReadData <= 0 || o.ReadData > 1 {
		o.ReadData = 1
	}
	rnd := o.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	rep := &VerifyAllReport{Mode: modePool, Damaged: []Damage{}}
	list, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	st, err := r.openStoreIfAny()
	if err != nil {
		return nil, err
	}
	if st != nil {
		rep.Mode = modeStore
	}
	for _, in := range list {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if in.Mode == modeStore && st != nil {
			continue // checked with the store below
		}
		rep.Archives++
		full := in.Mode == modePool && (o.ReadData >= 1 || rnd.Float64() < o.ReadData)
		if in.Mode == modeStore {
			// A store-mode archive of another store (or no store given):
			// Verify says what it needs.
			full = true
		}
		if full {
			vr, err := r.Verify(ctx, in.Path)
			if err != nil {
				rep.Damaged = append(rep.Damaged, Damage{Archive: in.ID, Offset: -1, Problem: err.Error()})
				continue
			}
			rep.ArchivesRead++
			rep.Damaged = append(rep.Damaged, vr.Damaged...)
			continue
		}
		rep.Damaged = append(rep.Damaged, r.checkPoolArchive(in)...)
	}
	if st != nil {
		if err := r.verifyStore(ctx, st, o, rnd, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkPoolArchive is the structural check of a pool archive: its file,
// manifest, chain and every chunk present in the chain's indexes (nothing
// decrypted but the manifest and indexes).
func (r *Repo) checkPoolArchive(in Info) []Damage {
	bad := func(problem string) []Damage {
		return []Damage{{Archive: in.ID, Offset: -1, Problem: problem}}
	}
	m, f, err := r.loadManifest(in.Path)
	if err != nil {
		return bad(err.Error())
	}
	terr := checkTiling(f)
	f.Close()
	if terr != nil {
		return bad(terr.Error())
	}
	src, err := r.source(m, false)
	if err != nil {
		return bad(err.Error())
	}
	defer src.Close()
	var out []Damage
	for i, d := range m.meta.Disks {
		var off int64
		for _, x := range m.runs[i] {
			x.Blobs(func(id chunk.ID, _ int64) {
				ref, err := src.Locate(id)
				if err != nil {
					out = append(out, Damage{Archive: in.ID, Disk: d.Label, Offset: off, Length: x.Len,
						Problem: fmt.Sprintf("chunk %s: %v", id.Short(), err)})
				} else if rl, ok := src.Source.(dedup.Releaser); ok {
					rl.Release(ref)
				}
			})
			off += x.Len
		}
	}
	return out
}

// verifyStore checks the store and every archive that references it.
func (r *Repo) verifyStore(ctx context.Context, st *store.Store, o VerifyAllOptions, rnd *rand.Rand, rep *VerifyAllReport) error {
	var idKey [32]byte
	if st.Keyed {
		idKey = crypt.ChunkIDKey(r.master)
	} else {
		idKey = crypt.ChunkIDKey(nil)
	}
	var counted int
	cr, err := st.Check(ctx, store.CheckOptions{
		Refs: func(mark func(chunk.ID)) error {
			n, err := r.markStoreRefs(ctx, st, mark, false)
			counted = n
			return err
		},
		ReadData: o.ReadData, Codec: r.codec, IDKey: idKey, Rand: rnd, Progress: o.Progress,
	})
	if err != nil {
		return err
	}
	rep.Store = cr
	for _, p := range cr.Problems {
		if p.Chunk == "" {
			rep.Damaged = append(rep.Damaged, Damage{Offset: -1, Problem: p.Object + ": " + p.Problem})
		}
	}
	if cr.Missing == 0 && !slices.ContainsFunc(cr.Problems, func(p store.Problem) bool { return p.Chunk != "" }) {
		rep.Archives += counted // every referenced chunk is there and intact
		return nil
	}
	// Name the archives, disks and byte ranges of the chunks the check
	// found missing or damaged: read the manifests once more.
	bad := map[chunk.ID]string{}
	for _, p := range cr.Problems {
		if id, err := chunk.ParseID(p.Chunk); err == nil {
			bad[id] = p.Problem
		}
	}
	si, _, err := st.LoadIndexTolerant()
	if err != nil {
		return err
	}
	stray, files, err := st.Unindexed(si)
	if err != nil {
		return err
	}
	for _, f := range files {
		f.Close()
	}
	n, err := r.eachStoreManifest(ctx, st, false, func(m *manifestData) error {
		for i, d := range m.meta.Disks {
			var off int64
			for _, x := range m.runs[i] {
				x.Blobs(func(id chunk.ID, _ int64) {
					problem, damaged := bad[id]
					if _, ok := stray[id]; !damaged && !si.Index.Has(id) && !ok {
						problem, damaged = "missing from the dedup store", true
					}
					if damaged {
						rep.Damaged = append(rep.Damaged, Damage{Archive: m.meta.ID, Disk: d.Label, Offset: off, Length: x.Len,
							Problem: fmt.Sprintf("chunk %s: %s", id.Short(), problem)})
					}
				})
				off += x.Len
			}
		}
		return nil
	})
	rep.Archives += n
	if err != nil {
		rep.Damaged = append(rep.Damaged, Damage{Offset: -1, Problem: err.Error()})
	}
	return nil
}
