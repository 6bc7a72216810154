package dedup

import (
	"fmt"
	"sync"

	"rb_module_rustack/internal/crypt"
)

// claimShards spreads the session's claim set over this many locks.
const claimShards = 64

// claimSet is the set of chunk ids stored (or being stored) in a session:
// a sharded map keyed by the 32-byte id, about 40-50 bytes per entry.
type claimSet struct {
	shards [claimShards]struct {
		mu sync.Mutex
		m  map[ID]struct{}
	}
}

func newClaimSet() *claimSet {
	c := &claimSet{}
	for i := range c.shards {
		c.shards[i].m = make(map[ID]struct{})
	}
	return c
}

// claim adds id and reports whether it was absent.
func (c *claimSet) claim(id ID) bool {
	s := &c.shards[id[0]%claimShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; ok {
		return false
	}
	s.m[id] = struct{}{}
	return true
}

// FileTarget stores a session's new chunks in one container file (an
// archive of an archive pool). Chunks in Base count as present.
type FileTarget struct {
	W      *FileWriter
	Base   *Index
	Keys   *Keys
	claims *claimSet
}

// NewFileTarget returns a target writing to w.
func NewFileTarget(w *FileWriter, keys *Keys, base *Index) *FileTarget {
	return &FileTarget{W: w, Base: base, Keys: keys, claims: newClaimSet()}
}

// Claim implements Target.
func (t *FileTarget) Claim(id ID) bool {
	if t.Base.Has(id) {
		return false
	}
	return t.claims.claim(id)
}

// Put implements Target.
func (t *FileTarget) Put(id ID, blob []byte, plen int) error { return t.W.PutBlob(id, blob, plen) }

// Sealer implements Target.
func (t *FileTarget) Sealer() *crypt.Sealer { return t.Keys.Sealer }

// IndexSource finds chunks through an Index whose file numbers refer to
// files opened on demand. Safe for concurrent use.
type IndexSource struct {
	Index *Index
	open  func(file uint32) (*FileReader, error)
	miss  func(id ID) (BlobRef, error) // optional fallback
	mu    sync.Mutex
	files map[uint32]*FileReader
	errs  map[uint32]error
}

// NewIndexSource returns a source; open opens file number i; miss (may be
// nil) is asked about ids the index lacks.
func NewIndexSource(idx *Index, open func(uint32) (*FileReader, error), miss func(ID) (BlobRef, error)) *IndexSource {
	return &IndexSource{Index: idx, open: open, miss: miss, files: map[uint32]*FileReader{}, errs: map[uint32]error{}}
}

// Locate implements Source.
func (s *IndexSource) Locate(id ID) (BlobRef, error) {
	loc, ok := s.Index.Lookup(id)
	if !ok {
		if s.miss != nil {
			return s.miss(id)
		}
		return BlobRef{}, fmt.Errorf("%w: chunk %s is in no index", ErrMissing, id.Short())
	}
	f, err := s.file(loc.File)
	if err != nil {
		return BlobRef{}, err
	}
	return BlobRef{File: f, Off: loc.Off, CLen: loc.CLen, PLen: loc.PLen}, nil
}

func (s *IndexSource) file(i uint32) (*FileReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[i]; ok {
		return f, nil
	}
	if err, ok := s.errs[i]; ok {
		return nil, err
	}
	f, err := s.open(i)
	if err != nil {
		s.errs[i] = err
		return nil, err
	}
	s.files[i] = f
	return f, nil
}

// Close closes the files opened.
func (s *IndexSource) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		f.Close()
	}
	s.files = map[uint32]*FileReader{}
}
