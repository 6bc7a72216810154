package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
)

// Store is a shared content-addressed chunk store (docs/format.md), whose
// objects are on a Backend:
//
//	config                      store identity and key check
//	packs/<2 hex>/<64 hex>.pack packs named by the BLAKE3 of their content
//	index/<64 hex>.idx          immutable per-session index files
//
// Any number of processes may write at once without a lock: every object
// is staged completely, then put if absent, and never changed afterwards. A session's index file is published
// after its packs, so an index never names a pack that is not complete; a
// pack without an index (a session in flight or one that crashed) is
// tolerated: readers fall back to the pack's own trailer index.
type Store struct {
	Dir    string // the location, for messages
	ID     string
	Keyed  bool
	be     Backend
	master []byte
}

// storeConfig is the JSON line of DIR/config.
type storeConfig struct {
	Format   int    `json:"format"`
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Keyed    bool   `json:"keyed"`
	Salt     string `json:"salt,omitempty"`
	KeyCheck string `json:"key_check,omitempty"`
	Created  string `json:"created"`
}

const storeKind = "rb_module_rustack dedup store"

// PackTarget is the size at which a session closes its pack and starts another.
const PackTarget = 64 << 20

// OpenDir opens the store in directory dir (the Local backend), creating
// it when absent and create is set.
func OpenDir(dir string, master []byte, create bool) (*Store, error) {
	if create {
		for _, d := range []string{dir, filepath.Join(dir, "packs"), filepath.Join(dir, "index")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, fmt.Errorf("dedup store %s: %w", dir, err)
			}
		}
	}
	return Open(NewLocal(dir), master, create)
}

// Open opens the store on b, creating its config when absent and create is
// set. A store is either keyed (every writer uses the same master key, which
// master must be) or not (created with cipher none: master is ignored).
func Open(b Backend, master []byte, create bool) (*Store, error) {
	ctx := context.Background()
	dir := b.String()
	cfg, err := readConfig(ctx, b)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("dedup store %s does not exist (no %s): check --store", dir, b.String()+"/config")
	}
	if errors.Is(err, fs.ErrNotExist) {
		if err := createStoreConfig(ctx, b, master); err != nil {
			return nil, err
		}
		cfg, err = readConfig(ctx, b)
	}
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: %w", dir, err)
	}
	c, err := ParseStoreConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: config: %w", dir, err)
	}
	s := &Store{Dir: dir, ID: c.ID, Keyed: c.Keyed, be: b, master: master}
	switch {
	case c.Keyed && master == nil:
		return nil, fmt.Errorf("dedup store %s is encrypted: %w", dir, container.ErrKeyNeeded)
	case !c.Keyed:
		s.master = nil // an unkeyed store is read and written without key
	case c.Keyed:
		salt, _ := hex.DecodeString(c.Salt)
		kc := crypt.KeyCheck(master, salt)
		if hex.EncodeToString(kc[:]) != c.KeyCheck {
			return nil, fmt.Errorf("dedup store %s: %w", dir, crypt.ErrWrongKey)
		}
	}
	return s, nil
}

// readConfig reads the config object.
func readConfig(ctx context.Context, b Backend) ([]byte, error) {
	o, err := b.Open(ctx, "config")
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(io.NewSectionReader(o, 0, o.Size()))
}

func createStoreConfig(ctx context.Context, b Backend, master []byte) error {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	c := storeConfig{Format: 1, Kind: storeKind, ID: hex.EncodeToString(rnd[:]), Keyed: master != nil,
		Created: time.Now().UTC().Format(time.RFC3339)}
	if master != nil {
		salt := make([]byte, crypt.SaltSize)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		kc := crypt.KeyCheck(master, salt)
		c.Salt, c.KeyCheck = hex.EncodeToString(salt), hex.EncodeToString(kc[:])
	}
	js, err := json.Marshal(c)
	if err != nil {
		return err
	}
	sum := blake3.Sum256(js)
	content := fmt.Sprintf("%s\n%s\n", js, hex.EncodeToString(sum[:16]))
	stage, err := b.Staging(ctx, "config")
	if err != nil {
		return err
	}
	tmp := filepath.Join(stage, ".tmp-config-"+hex.EncodeToString(rnd[:8]))
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("dedup store %s: %w", b, err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	// Another process may create the config at the same time: the first
	// put wins and everyone uses it.
	err = b.Put(ctx, tmp, "config")
	os.Remove(tmp)
	if errors.Is(err, ErrExist) {
		return nil
	}
	return err
}

// ParseStoreConfig parses DIR/config: a JSON line and a checksum line.
func ParseStoreConfig(b []byte) (*storeConfig, error) {
	js, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: truncated", chunk.ErrDamaged)
	}
	sum := blake3.Sum256(js)
	if string(rest) != hex.EncodeToString(sum[:16])+"\n" {
		return nil, fmt.Errorf("%w: checksum mismatch", chunk.ErrDamaged)
	}
	var c storeConfig
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", chunk.ErrDamaged, err)
	}
	if c.Kind != storeKind || c.Format != 1 || len(c.ID) != 32 {
		return nil, fmt.Errorf("%w: not a dedup store config (format %d)", chunk.ErrDamaged, c.Format)
	}
	return &c, nil
}

// packName is the object name of pack name.
func packName(name chunk.ID) string {
	h := name.String()
	return "packs/" + h[:2] + "/" + h + ".pack"
}

// where names object name in messages.
func (s *Store) where(name string) string { return strings.TrimSuffix(s.be.String(), "/") + "/" + name }

// Backend is the store's backend.
func (s *Store) Backend() Backend { return s.be }

// Index is the loaded index of a store.
type Index struct {
	Index *chunk.Index
	Packs []chunk.ID // file numbers of Index entries
	Files int        // index files read
}

// LoadIndex reads every index file of the store and merges them. A damaged
// index file is an error (its packs still hold their own indexes, so
// LoadIndexTolerant can carry on without it).
func (s *Store) LoadIndex() (*Index, error) {
	si, damaged, err := s.LoadIndexTolerant()
	if err != nil {
		return nil, err
	}
	if len(damaged) > 0 {
		return nil, fmt.Errorf("dedup store %s: %w (run verify; the packs' own indexes still locate the data)", s.Dir, damaged[0])
	}
	return si, nil
}

// LoadIndexTolerant is LoadIndex skipping damaged index files, whose errors
// it returns; their packs count as not indexed.
func (s *Store) LoadIndexTolerant() (*Index, []error, error) {
	names, err := s.list("index/", ".idx", 0)
	if err != nil {
		return nil, nil, err
	}
	var damaged []error
	slices.Sort(names)
	packNum := map[chunk.ID]uint32{}
	var packs []chunk.ID
	var all []chunk.IndexEntry
	for _, n := range names {
		pk, entries, err := s.readIndexFile(n)
		if errors.Is(err, crypt.ErrWrongKey) {
			return nil, nil, err
		}
		if err != nil {
			damaged = append(damaged, err)
			continue
		}
		for i := range entries {
			p := pk[entries[i].Pack]
			num, ok := packNum[p]
			if !ok {
				num = uint32(len(packs))
				packNum[p] = num
				packs = append(packs, p)
			}
			entries[i].Pack = num
		}
		all = append(all, entries...)
	}
	return &Index{Index: chunk.NewIndex(all), Packs: packs, Files: len(names)}, damaged, nil
}

// list returns the object names under prefix ending with suffix, depth
// slashes below prefix (index/*.idx: 0; packs/*/*.pack: 1).
func (s *Store) list(prefix, suffix string, depth int) ([]string, error) {
	names, err := s.be.List(context.Background(), prefix)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool {
		return !strings.HasSuffix(n, suffix) || strings.Count(n[len(prefix):], "/") != depth
	}), nil
}

// open opens and checks the container file of object name.
func (s *Store) open(name string) (*container.FileReader, error) {
	o, err := s.be.Open(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return container.OpenObject(o, s.where(name), s.master, false)
}

func (s *Store) readIndexFile(name string) ([]chunk.ID, []chunk.IndexEntry, error) {
	path := s.where(name)
	r, err := s.open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("index file: %w", err)
	}
	defer r.Close()
	if r.Header.Kind != container.KindIndex {
		return nil, nil, fmt.Errorf("%s: %w: not an index file", path, chunk.ErrDamaged)
	}
	b, err := r.Section("index")
	if err != nil {
		return nil, nil, err
	}
	pk, entries, err := chunk.ParseIndex(b, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return pk, entries, nil
}

// OpenPack opens a pack by name.
func (s *Store) OpenPack(name chunk.ID) (*container.FileReader, error) {
	r, err := s.open(packName(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: pack %s is missing from the store", chunk.ErrMissing, name.Short())
		}
		return nil, err
	}
	if r.Header.Kind != container.KindPack {
		r.Close()
		return nil, fmt.Errorf("%s: %w: not a pack", s.where(packName(name)), chunk.ErrDamaged)
	}
	// Authenticate the pack's own index too: damage anywhere in a pack
	// that is read is reported.
	b, err := r.Section("index")
	if err == nil {
		_, _, err = chunk.ParseIndex(b, true)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("pack %s: %w", name.Short(), err)
	}
	return r, nil
}

// Unindexed reads the trailer indexes of the packs no index file of si
// lists (sessions in flight, or that crashed before their index file).
// It returns where each chunk is: Loc.File numbers the returned files,
// which stay open (the caller closes them). Damaged stray packs are
// skipped.
func (s *Store) Unindexed(si *Index) (map[chunk.ID]chunk.Loc, []*container.FileReader, error) {
	known := make(map[chunk.ID]bool, len(si.Packs))
	for _, p := range si.Packs {
		known[p] = true
	}
	names, err := s.list("packs/", ".pack", 1)
	if err != nil {
		return nil, nil, err
	}
	out := map[chunk.ID]chunk.Loc{}
	var files []*container.FileReader
	for _, n := range names {
		id, err := chunk.ParseID(strings.TrimSuffix(path.Base(n), ".pack"))
		if err != nil || known[id] || n != packName(id) {
			continue
		}
		r, err := s.OpenPack(id)
		if err != nil {
			continue // a damaged stray pack is not our problem here
		}
		b, err := r.Section("index")
		if err != nil {
			r.Close()
			continue
		}
		_, entries, err := chunk.ParseIndex(b, true)
		if err != nil {
			r.Close()
			continue
		}
		num := uint32(len(files))
		files = append(files, r)
		for _, e := range entries {
			out[e.ID] = chunk.Loc{File: num, Off: e.Off, CLen: e.CLen, PLen: e.PLen}
		}
	}
	return out, files, nil
}
