package dedup

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/crypt"
)

// Store is a shared content-addressed chunk store (docs/format.md):
//
//	DIR/config                      store identity and key check
//	DIR/packs/<2 hex>/<64 hex>.pack packs named by the BLAKE3 of their content
//	DIR/index/<64 hex>.idx          immutable per-session index files
//
// Any number of processes may write at once without a lock: every file is
// written under a unique temporary name, fsynced and linked to its final
// name, and never changed afterwards. A session's index file is published
// after its packs, so an index never names a pack that is not complete; a
// pack without an index (a session in flight or one that crashed) is
// tolerated: readers fall back to the pack's own trailer index.
type Store struct {
	Dir    string
	ID     string
	Keyed  bool
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

// maxOpenPacks bounds the packs a reader keeps open (two descriptors each).
const maxOpenPacks = 256

// PackTarget is the size at which a session closes its pack and starts another.
const PackTarget = 64 << 20

// OpenStore opens the store in dir, creating it when absent and create is
// set. A store is either keyed (every writer uses the same master key, which
// master must be) or not (created with cipher none: master is ignored).
func OpenStore(dir string, master []byte, create bool) (*Store, error) {
	if create {
		for _, d := range []string{dir, filepath.Join(dir, "packs"), filepath.Join(dir, "index")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, fmt.Errorf("dedup store %s: %w", dir, err)
			}
		}
	}
	cfgPath := filepath.Join(dir, "config")
	b, err := os.ReadFile(cfgPath)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("dedup store %s does not exist (no %s): check --store", dir, cfgPath)
	}
	if errors.Is(err, fs.ErrNotExist) {
		if err := createStoreConfig(dir, master); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(cfgPath)
	}
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: %w", dir, err)
	}
	c, err := ParseStoreConfig(b)
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: config: %w", dir, err)
	}
	s := &Store{Dir: dir, ID: c.ID, Keyed: c.Keyed, master: master}
	switch {
	case c.Keyed && master == nil:
		return nil, fmt.Errorf("dedup store %s is encrypted: %w", dir, ErrKeyNeeded)
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

func createStoreConfig(dir string, master []byte) error {
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
	tmp := filepath.Join(dir, ".tmp-config-"+hex.EncodeToString(rnd[:8]))
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("dedup store %s: %w", dir, err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	// Another process may create the config at the same time: the first
	// link wins and everyone uses it.
	err = publish(tmp, filepath.Join(dir, "config"), true)
	os.Remove(tmp)
	return err
}

// ParseStoreConfig parses DIR/config: a JSON line and a checksum line.
func ParseStoreConfig(b []byte) (*storeConfig, error) {
	js, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: truncated", ErrDamaged)
	}
	sum := blake3.Sum256(js)
	if string(rest) != hex.EncodeToString(sum[:16])+"\n" {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	}
	var c storeConfig
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if c.Kind != storeKind || c.Format != 1 || len(c.ID) != 32 {
		return nil, fmt.Errorf("%w: not a dedup store config (format %d)", ErrDamaged, c.Format)
	}
	return &c, nil
}

func (s *Store) packPath(name ID) string {
	h := name.String()
	return filepath.Join(s.Dir, "packs", h[:2], h+".pack")
}

// StoreIndex is the loaded index of a store.
type StoreIndex struct {
	Index *Index
	Packs []ID // file numbers of Index entries
	Files int  // index files read
}

// LoadIndex reads every index file of the store and merges them. A damaged
// index file is an error (its packs still hold their own indexes, so
// LoadIndexTolerant can carry on without it).
func (s *Store) LoadIndex() (*StoreIndex, error) {
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
func (s *Store) LoadIndexTolerant() (*StoreIndex, []error, error) {
	names, err := filepath.Glob(filepath.Join(s.Dir, "index", "*.idx"))
	if err != nil {
		return nil, nil, err
	}
	var damaged []error
	slices.Sort(names)
	packNum := map[ID]uint32{}
	var packs []ID
	var all []IndexEntry
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
	return &StoreIndex{Index: NewIndex(all), Packs: packs, Files: len(names)}, damaged, nil
}

func (s *Store) readIndexFile(path string) ([]ID, []IndexEntry, error) {
	r, err := OpenFile(path, s.master, false)
	if err != nil {
		return nil, nil, fmt.Errorf("index file: %w", err)
	}
	defer r.Close()
	if r.Header.Kind != KindIndex {
		return nil, nil, fmt.Errorf("%s: %w: not an index file", path, ErrDamaged)
	}
	b, err := r.Section("index")
	if err != nil {
		return nil, nil, err
	}
	pk, entries, err := ParseIndex(b, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return pk, entries, nil
}

// OpenPack opens a pack by name.
func (s *Store) OpenPack(name ID) (*FileReader, error) {
	r, err := OpenFile(s.packPath(name), s.master, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: pack %s is missing from the store", ErrMissing, name.Short())
		}
		return nil, err
	}
	if r.Header.Kind != KindPack {
		r.Close()
		return nil, fmt.Errorf("%s: %w: not a pack", s.packPath(name), ErrDamaged)
	}
	// Authenticate the pack's own index too: damage anywhere in a pack
	// that is read is reported.
	b, err := r.Section("index")
	if err == nil {
		_, _, err = ParseIndex(b, true)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("pack %s: %w", name.Short(), err)
	}
	return r, nil
}

// Source returns a chunk source over idx; chunks the index lacks are looked
// for in packs that no index lists yet.
func (s *Store) Source(si *StoreIndex) *IndexSource {
	var once sync.Once
	var extra map[ID]BlobRef
	var extraErr error
	miss := func(id ID) (BlobRef, error) {
		once.Do(func() { extra, extraErr = s.unindexed(si) })
		if extraErr != nil {
			return BlobRef{}, extraErr
		}
		if ref, ok := extra[id]; ok {
			return ref, nil
		}
		return BlobRef{}, fmt.Errorf("%w: chunk %s is in no index and no pack of the store", ErrMissing, id.Short())
	}
	src := NewIndexSource(si.Index, func(i uint32) (*FileReader, error) { return s.OpenPack(si.Packs[i]) }, miss)
	src.MaxOpen = maxOpenPacks
	return src
}

// unindexed reads the trailer indexes of the packs no index file lists.
// The packs stay open for the lifetime of the returned refs.
func (s *Store) unindexed(si *StoreIndex) (map[ID]BlobRef, error) {
	known := make(map[ID]bool, len(si.Packs))
	for _, p := range si.Packs {
		known[p] = true
	}
	names, err := filepath.Glob(filepath.Join(s.Dir, "packs", "*", "*.pack"))
	if err != nil {
		return nil, err
	}
	out := map[ID]BlobRef{}
	for _, n := range names {
		id, err := ParseID(strings.TrimSuffix(filepath.Base(n), ".pack"))
		if err != nil || known[id] {
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
		_, entries, err := ParseIndex(b, true)
		if err != nil {
			r.Close()
			continue
		}
		for _, e := range entries {
			out[e.ID] = BlobRef{File: r, Off: e.Off, CLen: e.CLen, PLen: e.PLen}
		}
	}
	return out, nil
}

// StoreWriter is one writer session of a store: it fills packs of its own
// and finally publishes one index file for them. Implements Target.
type StoreWriter struct {
	s       *Store
	keys    *Keys
	base    *Index
	claims  *claimSet
	mu      sync.Mutex
	cur     *FileWriter
	packs   []ID
	entries []IndexEntry
	bytes   int64 // bytes of published files
	closed  bool
}

// NewWriter starts a session that stores chunks base lacks.
func (s *Store) NewWriter(cipherName string, base *Index) (*StoreWriter, error) {
	if s.Keyed == (cipherName == crypt.None) {
		return nil, fmt.Errorf("cipher %s does not match dedup store %s", cipherName, s.Dir)
	}
	keys, err := NewKeys(cipherName, s.master)
	if err != nil {
		return nil, err
	}
	return &StoreWriter{s: s, keys: keys, base: base, claims: newClaimSet()}, nil
}

// Claim implements Target.
func (w *StoreWriter) Claim(id ID) bool {
	if w.base.Has(id) {
		return false
	}
	return w.claims.claim(id)
}

// Sealer implements Target.
func (w *StoreWriter) Sealer() *crypt.Sealer { return w.keys.Sealer }

// Put implements Target.
func (w *StoreWriter) Put(id ID, blob []byte, plen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("store writer closed")
	}
	if w.cur == nil {
		f, err := CreateFile(filepath.Join(w.s.Dir, "packs"), "pack", KindPack, w.keys, nil, FileOpts{HashContent: true, Direct: true})
		if err != nil {
			return err
		}
		w.cur = f
	}
	if err := w.cur.PutBlob(id, blob, plen); err != nil {
		return err
	}
	if w.cur.Size() >= PackTarget {
		return w.finishPack()
	}
	return nil
}

// finishPack closes and publishes the current pack. Called with mu held.
func (w *StoreWriter) finishPack() error {
	f := w.cur
	w.cur = nil
	entries := SortEntries(append([]IndexEntry(nil), f.Entries()...))
	if err := f.AddSection("index", EncodeIndex(nil, entries)); err != nil {
		f.Abort()
		return err
	}
	sum, err := f.Close()
	if err != nil {
		f.Abort()
		return err
	}
	name := ID(sum)
	if err := os.MkdirAll(filepath.Dir(w.s.packPath(name)), 0o700); err != nil {
		f.Abort()
		return err
	}
	size := f.off
	if err := f.Publish(w.s.packPath(name), true); err != nil {
		f.Abort()
		return err
	}
	num := uint32(len(w.packs))
	w.packs = append(w.packs, name)
	for _, e := range entries {
		e.Pack = num
		w.entries = append(w.entries, e)
	}
	w.bytes += size
	return nil
}

// Commit publishes the last pack and the session's index file. It returns
// the bytes written to the store.
func (w *StoreWriter) Commit() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errors.New("store writer closed")
	}
	w.closed = true
	if w.cur != nil {
		if err := w.finishPack(); err != nil {
			return 0, err
		}
	}
	if len(w.entries) == 0 {
		return w.bytes, nil
	}
	entries := SortEntries(w.entries)
	f, err := CreateFile(filepath.Join(w.s.Dir, "index"), "idx", KindIndex, w.keys, nil, FileOpts{HashContent: true})
	if err != nil {
		return 0, err
	}
	if err := f.AddSection("index", EncodeIndex(w.packs, entries)); err != nil {
		f.Abort()
		return 0, err
	}
	sum, err := f.Close()
	if err != nil {
		f.Abort()
		return 0, err
	}
	if err := f.Publish(filepath.Join(w.s.Dir, "index", ID(sum).String()+".idx"), true); err != nil {
		f.Abort()
		return 0, err
	}
	w.bytes += f.off
	return w.bytes, nil
}

// Abort removes the pack being written. Packs already published stay (they
// are complete and carry their own index; a later GC may remove them).
func (w *StoreWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.cur != nil {
		w.cur.Abort()
		w.cur = nil
	}
}
