package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/store"
)

// headerMeta is the cleartext metadata in an archive's header: enough to
// list archives and pick a parent without the key. It is authenticated (as
// part of the header every section is bound to) when the archive is loaded.
type headerMeta struct {
	ID      string    `json:"id"`
	VMID    string    `json:"vm_id"`
	VMName  string    `json:"vm_name"`
	Type    Type      `json:"type"`
	Parent  string    `json:"parent,omitempty"`
	Created time.Time `json:"created"`
	Logical int64     `json:"logical"`
	Mode    string    `json:"mode"`
	StoreID string    `json:"store_id,omitempty"`
}

func parseHeaderMeta(h container.Header) (*headerMeta, error) {
	if h.Kind != container.KindArchive {
		return nil, fmt.Errorf("%w: not an archive (a %s file)", ErrIntegrity, h.Kind)
	}
	var m headerMeta
	if err := json.Unmarshal(h.Meta, &m); err != nil {
		return nil, fmt.Errorf("%w: archive header: %v", ErrIntegrity, err)
	}
	if !validID(m.ID) {
		return nil, fmt.Errorf("%w: archive header: bad id", ErrIntegrity)
	}
	return &m, nil
}

// resolve finds the archive file of an id or path.
func (r *Repo) resolve(idOrPath string) (string, error) {
	if idOrPath == "" {
		return "", errors.New("no archive given")
	}
	if strings.ContainsRune(idOrPath, os.PathSeparator) || strings.HasSuffix(idOrPath, archiveExt) {
		if _, err := os.Stat(idOrPath); err == nil {
			return idOrPath, nil
		}
	}
	if validID(idOrPath) {
		p := filepath.Join(r.opts.Pool, idOrPath+archiveExt)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if id := strings.TrimSuffix(idOrPath, archiveExt); id != idOrPath {
			p = filepath.Join(r.opts.Pool, idOrPath)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: %q is neither a file nor an archive id in pool %s (the archives command lists them)", ErrNotFound, idOrPath, r.opts.Pool)
}

// List returns the archives of the pool, oldest first. It reads only the
// cleartext headers, so it needs no key. Files that cannot be read are
// listed with Type "damaged".
func (r *Repo) List(ctx context.Context) ([]Info, error) {
	ents, err := os.ReadDir(r.opts.Pool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pool: %w", err)
	}
	var out []Info
	old := r.readListCache()
	files := make(map[string]listCacheEntry, len(old))
	changed := false
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, archiveExt) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(r.opts.Pool, n)
		fi, err := e.Info()
		if err != nil { // removed since the directory was read
			continue
		}
		size, mtime := fi.Size(), fi.ModTime().UnixNano()
		if c, ok := old[n]; ok && c.Size == size && c.MTime == mtime {
			files[n] = c
			c.Info.Path = p
			out = append(out, c.Info)
			continue
		}
		in := infoOf(p, fi)
		out = append(out, in)
		if in.Type != "damaged" {
			c := listCacheEntry{Size: size, MTime: mtime, Info: in}
			c.Info.Path = ""
			files[n] = c
			changed = true
		}
	}
	if changed || len(files) != len(old) {
		r.writeListCache(files)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// infoOf reads the header of archive file p, whose stat is fi.
func infoOf(p string, fi fs.FileInfo) Info {
	inf := Info{ID: strings.TrimSuffix(filepath.Base(p), archiveExt), Path: p, Type: "damaged",
		Size: fi.Size(), Created: fi.ModTime()}
	f, err := container.OpenFile(p, nil, true)
	if err != nil {
		return inf
	}
	defer f.Close()
	hm, err := parseHeaderMeta(f.Header)
	if err != nil {
		return inf
	}
	inf.ID, inf.VMID, inf.VMName, inf.Type, inf.Parent = hm.ID, hm.VMID, hm.VMName, hm.Type, hm.Parent
	inf.Logical, inf.Created, inf.Mode, inf.StoreID = hm.Logical, hm.Created, hm.Mode, hm.StoreID
	return inf
}

// openArchive opens an archive file with the key and parses its header.
func (r *Repo) openArchive(path string) (*container.FileReader, *headerMeta, error) {
	f, err := container.OpenFile(path, r.master, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, path)
		}
		return nil, nil, err
	}
	hm, err := parseHeaderMeta(f.Header)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, hm, nil
}

// loadManifest opens an archive and reads its authenticated manifest.
func (r *Repo) loadManifest(path string) (*manifestData, *container.FileReader, error) {
	f, hm, err := r.openArchive(path)
	if err != nil {
		return nil, nil, err
	}
	b, err := f.Section("manifest")
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	m, err := parseManifest(b)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	mt := &m.meta
	if mt.ID != hm.ID || mt.VMID != hm.VMID || mt.Type != hm.Type || mt.Parent != hm.Parent || mt.Mode != hm.Mode ||
		mt.StoreID != hm.StoreID || mt.Cipher != f.Header.Cipher {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w: header and manifest disagree", path, ErrIntegrity)
	}
	m.path = path
	return m, f, nil
}

// Load reads the manifest of an archive (id or path), checking its tags.
func (r *Repo) Load(ctx context.Context, idOrPath string) (*Manifest, error) {
	m, f, err := r.find(ctx, idOrPath)
	if err != nil {
		return nil, err
	}
	if f != nil {
		f.Close()
	}
	return m.public(), nil
}

// manifestData is what Load read for m, or, for a manifest not from Load,
// its archive's manifest loaded again by id.
func (r *Repo) manifestData(ctx context.Context, m *Manifest) (*manifestData, error) {
	if m.data != nil {
		return m.data, nil
	}
	md, err := r.Load(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	return md.data, nil
}

// find reads the manifest of an archive: its file (id or path, returned
// open), or, for an id the pool lacks, the dedup store's copy (an archive
// copied into the store from another, or whose pool is on another proxy;
// the file is then nil).
func (r *Repo) find(ctx context.Context, idOrPath string) (*manifestData, *container.FileReader, error) {
	p, err := r.resolve(idOrPath)
	if errors.Is(err, ErrNotFound) && validID(idOrPath) {
		if m, serr := r.loadFromStore(ctx, idOrPath); serr == nil {
			return m, nil, nil
		} else if !errors.Is(serr, fs.ErrNotExist) {
			return nil, nil, serr
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return r.loadManifest(p)
}

// chainFile finds archive id of a chain: next to the archive being read,
// then in the pool.
func (r *Repo) chainFile(dir, id string) (string, bool) {
	for _, d := range []string{dir, r.opts.Pool} {
		p := filepath.Join(d, id+archiveExt)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// chainSource is where the chunks of an archive are: its chain's archive
// files (pool mode) or the store.
type chainSource struct {
	dedup.Source
	files   []*container.FileReader
	src     *dedup.IndexSource
	damaged []error // store index files skipped (tolerant mode)
}

func (c *chainSource) Close() {
	for _, f := range c.files {
		f.Close()
	}
	if c.src != nil {
		c.src.Close()
	}
}

// source opens what the chunks of m need. With tolerant, damaged store
// index files are skipped and returned in damaged.
func (r *Repo) source(m *manifestData, tolerant bool) (*chainSource, error) {
	if m.meta.Mode == modeStore {
		return r.storeSource(m, tolerant)
	}
	cs := &chainSource{}
	dir := filepath.Dir(m.path)
	var entries []chunk.IndexEntry
	for i, id := range m.meta.Chain {
		p, ok := r.chainFile(dir, id)
		if !ok {
			cs.Close()
			return nil, fmt.Errorf("%w: archive %s needs %s (its chain: %s), which is in neither %s nor pool %s: copy it back into the pool",
				ErrMissingParent, m.meta.ID, id, strings.Join(m.meta.Chain, " <- "), dir, r.opts.Pool)
		}
		f, hm, err := r.openArchive(p)
		if err != nil {
			cs.Close()
			return nil, fmt.Errorf("archive %s of the chain: %w", id, err)
		}
		cs.files = append(cs.files, f)
		if hm.ID != id || hm.Mode != modePool {
			cs.Close()
			return nil, fmt.Errorf("%w: %s is not archive %s of a pool", ErrIntegrity, p, id)
		}
		if keyed(f.Header.Cipher) != keyed(m.meta.Cipher) {
			cs.Close()
			return nil, fmt.Errorf("%w: archive %s of the chain uses other chunk ids", ErrIntegrity, id)
		}
		b, err := f.Section("index")
		if err != nil {
			cs.Close()
			return nil, err
		}
		_, es, err := chunk.ParseIndex(b, true)
		if err != nil {
			cs.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for k := range es {
			es[k].Pack = uint32(i)
		}
		entries = append(entries, es...)
	}
	idx := chunk.NewIndex(entries)
	files := cs.files
	cs.Source = dedup.NewIndexSource(idx, func(i uint32) (*container.FileReader, error) { return files[i], nil }, nil)
	return cs, nil
}

func (r *Repo) storeSource(m *manifestData, tolerant bool) (*chainSource, error) {
	if r.opts.Store == "" {
		return nil, fmt.Errorf("archive %s keeps its data in a dedup store: give --store DIR (store id %s)", m.meta.ID, m.meta.StoreID)
	}
	st, err := r.storeAt(false)
	if err != nil {
		return nil, err
	}
	if st.ID != m.meta.StoreID {
		return nil, fmt.Errorf("archive %s belongs to dedup store %s, but %s is store %s: give the right --store", m.meta.ID, m.meta.StoreID, r.opts.Store, st.ID)
	}
	cs := &chainSource{}
	var si *store.Index
	if tolerant {
		si, cs.damaged, err = st.LoadIndexTolerant()
	} else {
		si, err = st.LoadIndex()
	}
	if err != nil {
		return nil, err
	}
	cs.src = dedup.StoreSource(st, si)
	cs.Source = cs.src
	return cs, nil
}

// minRestoreWorkers is the least number of restore workers, whatever the
// core count: a worker waits for its archive read or its image write most
// of the time, and the disk of a cloud VM serves several requests at once.
// Measured on the 2-core bench machine, interleaved cold 2 GiB restores:
// 4 workers 1.62-2.08 s (median 1.72), 8 workers 1.44-2.57 s (median
// 1.59), 16 workers a little faster again but at 215 MiB peak RSS instead
// of 127 (87 with 4): each worker holds a 4 MiB piece and its blobs. With
// the direct buffers on huge pages (internal/directio), again: 4
// workers median 1.46 s, 8 1.33 s, 16 1.28 s.
const minRestoreWorkers = 8

// reader returns a chunk reader for data written with cipherName. It runs
// twice as many workers as cores, at least minRestoreWorkers, so that the
// workers' archive reads and image writes overlap each other and the
// decoding; decoding itself is bounded by the codec's Parallelism zstd
// decoders, one per core. (Four decoders instead of two on 2 cores were no
// faster, 1.52-1.79 s against 1.51-1.75 s: the disk is the limit.)
func (r *Repo) reader(cipherName string) *dedup.Reader {
	return &dedup.Reader{Codec: r.codec, IDKey: r.idKeyFor(cipherName), Parallelism: max(r.par*2, minRestoreWorkers)}
}

// loadFromStore reads the manifest of the store's copy of archive id
// (fs.ErrNotExist when there is no store or no such copy).
func (r *Repo) loadFromStore(ctx context.Context, id string) (*manifestData, error) {
	st, err := r.openStoreIfAny()
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fs.ErrNotExist
	}
	return r.loadStoreManifest(ctx, st, id)
}
