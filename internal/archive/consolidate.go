package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ConsolidateResult is what consolidate wrote and removed.
type ConsolidateResult struct {
	Archive  string   `json:"archive"`  // the archive consolidated
	Full     string   `json:"full"`     // the synthetic full written
	Chain    []string `json:"chain"`    // the chain it was read from
	Replaced bool     `json:"replaced"` // the original was removed (nothing else needed it)
	// KeptBecause lists the archives that still need the original (then
	// it stays).
	KeptBecause []string `json:"kept_because"`
	Summary     *Summary `json:"-"`
}

// Consolidate writes a synthetic full archive of archive id (pool mode):
// the same VM, disks and point in time, read from id's chain. When no
// other archive needs id, id is then removed and the full takes its place,
// so that the bases of id are needed by nothing newer and the retention
// policy can let them go. A store-mode archive needs no chain, and a full
// is full already: both are refused with ErrBadRequest.
//
// Each disk passes through a sparse temporary file in the pool (removed
// afterwards; prune removes it if the process is killed).
func (r *Repo) Consolidate(ctx context.Context, id string) (*ConsolidateResult, error) {
	all, err := r.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var in *Info
	for i := range all {
		if all[i].ID == id {
			in = &all[i]
		}
	}
	switch {
	case in == nil:
		return nil, fmt.Errorf("%w: %w: %q is not an archive of this repository (the archives command lists them)", ErrBadRequest, ErrNotFound, id)
	case in.Mode == modeStore:
		return nil, fmt.Errorf("%w: %s is in a dedup store, where no archive needs another: nothing to consolidate", ErrBadRequest, id)
	case in.Type == Full:
		return nil, fmt.Errorf("%w: %s is a full backup already", ErrBadRequest, id)
	case in.Path == "":
		return nil, fmt.Errorf("%w: %s has no archive file in pool %s", ErrBadRequest, id, r.opts.Pool)
	}
	m, f, err := r.loadManifest(in.Path)
	if err != nil {
		return nil, err
	}
	f.Close()
	res := &ConsolidateResult{Archive: id, Chain: m.meta.Chain, KeptBecause: []string{}}
	b, err := r.Begin(ctx, BackupSpec{VMID: m.meta.VMID, VMName: m.meta.VMName, Type: Full, VM: m.meta.VM,
		JobID: m.meta.JobID, Created: m.meta.Created,
		Note: fmt.Sprintf("synthetic full of %s, consolidated from its chain of %d archives", id, len(m.meta.Chain))})
	if err != nil {
		return nil, err
	}
	defer b.Abort()
	pub := m.public()
	for _, d := range pub.Disks {
		if err := r.consolidateDisk(ctx, b, pub, d); err != nil {
			return nil, fmt.Errorf("consolidate %s, disk %s: %w", id, d.Label, err)
		}
	}
	sum, err := b.Commit(ctx)
	if err != nil {
		return nil, err
	}
	res.Full, res.Summary = sum.ArchiveID, sum
	// The original goes unless other archives' chains run through it.
	all, err = r.Catalog(ctx)
	if err != nil {
		return res, fmt.Errorf("synthetic full %s written; %w", res.Full, err)
	}
	for dep, needs := range Needs(all) {
		if slices.Contains(needs, id) {
			res.KeptBecause = append(res.KeptBecause, dep)
		}
	}
	slices.Sort(res.KeptBecause)
	if len(res.KeptBecause) > 0 {
		return res, nil
	}
	del, err := r.Delete(ctx, []string{id}, false, false)
	if err != nil {
		return res, fmt.Errorf("synthetic full %s written, but removing %s failed (delete it, or keep both): %w", res.Full, id, err)
	}
	res.Replaced = len(del.Removed) == 1
	return res, nil
}

// consolidateDisk restores disk d of m into a sparse temporary file and
// backs it up into b.
func (r *Repo) consolidateDisk(ctx context.Context, b *Backup, m *Manifest, d Disk) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	p := filepath.Join(r.opts.Pool, ".tmp-"+hex.EncodeToString(rnd[:])+"-consolidate-"+d.Label)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(p)
	defer f.Close()
	if err := f.Truncate(d.Size); err != nil {
		return err
	}
	if err := r.RestoreDisk(ctx, m, d.Label, f, RestoreOptions{SkipHoles: true}); err != nil {
		return err
	}
	return b.AddDisk(ctx, d.Label, f, d.Size, nil)
}
