package archive

import (
	"context"
	"io/fs"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/store"
)

// PruneOptions tune Prune.
type PruneOptions struct {
	// MaxUnused is the share of a pack's bytes that may be unused before
	// prune rewrites the pack (0 = the default, 10 %).
	MaxUnused float64
	DryRun    bool
	// TempGrace: temporary files younger than this are left alone. Under
	// prune's exclusive locks no writer of this version is alive, so 0 is
	// safe; a grace protects writers of versions that take no locks.
	TempGrace time.Duration
	Progress  func(done, total int64)
	// Hook is called after each file prune removes or publishes (crash
	// tests kill the process there).
	Hook func(event string)
}

// PruneReport is what prune found and did.
type PruneReport struct {
	DryRun        bool   `json:"dry_run"`
	Mode          string `json:"mode"` // "pool" | "store"
	PoolTempFiles int    `json:"pool_temp_files"`
	PoolTempBytes int64  `json:"pool_temp_bytes"`
	// Archives whose references were counted (store mode).
	Archives int                `json:"archives"`
	Store    *store.PruneReport `json:"store,omitempty"`
	// BytesFreed in all (pool temporary files and store).
	BytesFreed int64 `json:"bytes_freed"`
}

// Prune frees space. Pool mode: forget already removed whole archive
// files, so prune removes what killed writers left (temporary files).
// Store mode: also every chunk no archive of any pool references, by the
// store's garbage collection (docs/format.md, section 7), under the
// store's exclusive lock.
func (r *Repo) Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	rep := &PruneReport{DryRun: o.DryRun, Mode: modePool}
	st, err := r.openStoreIfAny()
	if err != nil {
		return nil, err
	}
	if st != nil {
		rep.Mode = modeStore
	}
	var locks *held
	if !o.DryRun {
		if locks, err = r.lockPrune(ctx, st); err != nil {
			return nil, err
		}
		defer locks.Release()
	}
	old := func(fi fs.FileInfo) bool { return time.Since(fi.ModTime()) >= o.TempGrace }
	n, b, err := r.sweepPool(old, o.DryRun)
	rep.PoolTempFiles, rep.PoolTempBytes, rep.BytesFreed = n, b, b
	if err != nil {
		return rep, err
	}
	if n > 0 && o.Hook != nil {
		o.Hook("swept pool")
	}
	if st == nil {
		return rep, nil
	}
	refs := func(mark func(chunk.ID)) error {
		k, err := r.markStoreRefs(ctx, st, mark, !o.DryRun)
		rep.Archives = k
		return err
	}
	grace := o.TempGrace
	if grace <= 0 {
		grace = -1 // the store's "no grace" (its 0 means its default)
	}
	sr, err := st.Prune(ctx, refs, store.PruneOptions{
		MaxUnused: o.MaxUnused, DryRun: o.DryRun, Cipher: r.storeCipher(st), Progress: o.Progress,
		Hook: o.Hook, TempGrace: grace,
	})
	rep.Store = sr
	if sr != nil {
		rep.BytesFreed += sr.BytesFreed
	}
	return rep, err
}

// storeCipher is the cipher prune writes the packs it rewrites with: the
// configured one when it suits the store, else the store's kind.
func (r *Repo) storeCipher(st *store.Store) string {
	if st.Keyed == keyed(r.cipher) {
		return r.cipher
	}
	if st.Keyed {
		return crypt.AES256GCM
	}
	return crypt.None
}
