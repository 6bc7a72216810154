package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/store"
)

// openStore opens the configured dedup store ("" = pool mode: nil).
func (r *Repo) openStore() (*store.Store, error) {
	if r.opts.Store == "" {
		return nil, nil
	}
	return r.storeAt(false)
}

// storeAt opens the configured dedup store on its backend; create makes a
// missing one.
func (r *Repo) storeAt(create bool) (*store.Store, error) {
	if b := r.opts.StoreBackend; b != nil {
		return store.Open(b, r.master, create)
	}
	return store.OpenDir(r.opts.Store, r.master, create)
}

// openStoreIfAny opens the configured store when it exists.
func (r *Repo) openStoreIfAny() (*store.Store, error) {
	if r.opts.Store == "" || !r.storeExists() {
		return nil, nil
	}
	return r.openStore()
}

// storeExists reports whether the configured store has been created.
func (r *Repo) storeExists() bool {
	if b := r.opts.StoreBackend; b != nil {
		o, err := b.Open(context.Background(), "config")
		if err == nil {
			o.Close()
		}
		return !errors.Is(err, fs.ErrNotExist) // another error: opening the store reports it
	}
	_, err := os.Stat(filepath.Join(r.opts.Store, "config"))
	return !errors.Is(err, fs.ErrNotExist)
}

// Catalog lists every archive the repository knows, oldest first: the
// pool's archive files and, with a dedup store, the store's copies of
// archive files (InStore), also those whose pool file is gone (another
// proxy's pool, or a file removed by hand): Path is then "". It reads only
// cleartext headers, but opening a keyed store needs the master key.
func (r *Repo) Catalog(ctx context.Context) ([]Info, error) {
	list, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	st, err := r.openStoreIfAny()
	if err != nil || st == nil {
		return list, err
	}
	ids, err := st.Archives(ctx)
	if err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, in := range list {
		at[in.ID] = i
	}
	for _, id := range ids {
		if i, ok := at[id]; ok {
			list[i].InStore = true
			continue
		}
		in := r.storeInfo(ctx, st, id)
		list = append(list, in)
	}
	slices.SortFunc(list, func(a, b Info) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list, nil
}

// storeInfo describes the store's copy of archive id from its header.
func (r *Repo) storeInfo(ctx context.Context, st *store.Store, id string) Info {
	in := Info{ID: id, Type: "damaged", InStore: true, Mode: modeStore, StoreID: st.ID}
	o, err := st.OpenArchive(ctx, id)
	if err != nil {
		return in
	}
	defer o.Close()
	in.Size = o.Size()
	f, err := container.OpenObject(o, st.Where(store.ArchiveObject(id)), nil, true)
	if err != nil {
		return in
	}
	hm, err := parseHeaderMeta(f.Header)
	if err != nil || hm.ID != id {
		return in
	}
	in.VMID, in.VMName, in.Type, in.Parent = hm.VMID, hm.VMName, hm.Type, hm.Parent
	in.Logical, in.Created, in.Mode, in.StoreID = hm.Logical, hm.Created, hm.Mode, hm.StoreID
	return in
}

// Needs returns, for every archive of list, the archives it cannot be
// restored without: in pool mode its chain (an incremental needs every
// earlier archive of its chain, a differential its full), found through
// the parent links of the cleartext headers; in store mode nothing (every
// store-mode manifest lists all chunks of every disk).
func Needs(list []Info) map[string][]string {
	byID := map[string]*Info{}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	out := map[string][]string{}
	for i := range list {
		in := &list[i]
		if in.Mode != modePool {
			continue
		}
		var needs []string
		seen := map[string]bool{in.ID: true}
		for p := in.Parent; p != "" && !seen[p]; {
			seen[p] = true
			needs = append(needs, p)
			pi, ok := byID[p]
			if !ok {
				break // a missing base: the archive is already broken
			}
			p = pi.Parent
		}
		if len(needs) > 0 {
			out[in.ID] = needs
		}
	}
	return out
}

// removeArchive deletes an archive's pool file and its store copy.
func (r *Repo) removeArchive(ctx context.Context, st *store.Store, in Info) error {
	if in.Path != "" {
		if err := os.Remove(in.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove archive %s: %w", in.ID, err)
		}
		if err := container.SyncDir(filepath.Dir(in.Path)); err != nil {
			return fmt.Errorf("remove archive %s: %w", in.ID, err)
		}
	}
	if st != nil && (in.InStore || in.Mode == modeStore) {
		if err := st.DeleteArchive(ctx, in.ID); err != nil {
			return err
		}
	}
	return nil
}

// markStoreRefs calls mark for every chunk of every archive that counts
// for store st: the store's archive copies and this pool's store-mode
// archives of st that have none yet (archives written before the store
// kept copies; with adopt, they are first copied into the store). It
// returns the number of archives read. A manifest that cannot be read
// stops it: the references would be unknown.
func (r *Repo) markStoreRefs(ctx context.Context, st *store.Store, mark func(chunk.ID), adopt bool) (int, error) {
	return r.eachStoreManifest(ctx, st, adopt, func(m *manifestData) error {
		for _, runs := range m.runs {
			for _, x := range runs {
				x.Blobs(func(id chunk.ID, _ int64) { mark(id) })
			}
		}
		return nil
	})
}

// eachStoreManifest calls fn with the manifest of every archive that
// counts for store st (see markStoreRefs).
func (r *Repo) eachStoreManifest(ctx context.Context, st *store.Store, adopt bool, fn func(*manifestData) error) (int, error) {
	list, err := r.List(ctx)
	if err != nil {
		return 0, err
	}
	have, err := st.Archives(ctx)
	if err != nil {
		return 0, err
	}
	inStore := map[string]bool{}
	for _, id := range have {
		inStore[id] = true
	}
	var local []Info
	for _, in := range list {
		if in.Mode == modeStore && in.StoreID == st.ID && !inStore[in.ID] {
			if !adopt {
				local = append(local, in)
				continue
			}
			if err := st.PutArchive(ctx, in.Path, in.ID); err != nil {
				return 0, err
			}
			have = append(have, in.ID)
		}
	}
	n := 0
	use := func(id string, m *manifestData, err error) error {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotFound) {
			return nil // deleted since the listing
		}
		if err != nil {
			return fmt.Errorf("archive %s: %w (its chunks are unknown: repair or delete it first)", id, err)
		}
		if m.meta.StoreID != st.ID {
			return nil
		}
		n++
		return fn(m)
	}
	for _, id := range have {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.loadStoreManifest(ctx, st, id)
		if err := use(id, m, err); err != nil {
			return n, err
		}
	}
	for _, in := range local {
		m, f, err := r.loadManifest(in.Path)
		if f != nil {
			f.Close()
		}
		if err := use(in.ID, m, err); err != nil {
			return n, err
		}
	}
	return n, nil
}

// loadStoreManifest reads the manifest of the store's copy of archive id.
func (r *Repo) loadStoreManifest(ctx context.Context, st *store.Store, id string) (*manifestData, error) {
	o, err := st.OpenArchive(ctx, id)
	if err != nil {
		return nil, err
	}
	where := st.Where(store.ArchiveObject(id))
	f, err := container.OpenObject(o, where, r.master, false)
	if err != nil {
		o.Close()
		return nil, err
	}
	defer f.Close()
	hm, err := parseHeaderMeta(f.Header)
	if err != nil {
		return nil, err
	}
	b, err := f.Section("manifest")
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if m.meta.ID != hm.ID || m.meta.ID != id || m.meta.Mode != modeStore {
		return nil, fmt.Errorf("%s: %w: not the store-mode archive %s", where, ErrIntegrity, id)
	}
	m.path = where
	return m, nil
}

// sweepPool removes the temporary files (.tmp-*) that killed writers left
// in the pool, older than grace. Called under prune's exclusive pool lock,
// when no writer of this version is alive.
func (r *Repo) sweepPool(grace func(fs.FileInfo) bool, dryRun bool) (files int, bytes int64, err error) {
	ents, err := os.ReadDir(r.opts.Pool)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("archive pool %s: %w", r.opts.Pool, err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !grace(fi) {
			continue
		}
		files++
		bytes += fi.Size()
		if dryRun {
			continue
		}
		p := filepath.Join(r.opts.Pool, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return files, bytes, fmt.Errorf("archive pool: remove %s: %w", p, err)
		}
	}
	if files > 0 && !dryRun {
		_ = container.SyncDir(r.opts.Pool)
	}
	return files, bytes, nil
}
