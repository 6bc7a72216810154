package dedup

import (
	"cmp"
	"fmt"
	"slices"
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
// files opened on demand. With MaxOpen > 0 it keeps at most that many files
// open (least recently used ones not in use are closed; a blob's file is in
// use from Locate to Release). Safe for concurrent use.
type IndexSource struct {
	Index   *Index
	MaxOpen int
	open    func(file uint32) (*FileReader, error)
	miss    func(id ID) (BlobRef, error) // optional fallback
	mu      sync.Mutex
	files   map[uint32]*openFile
	byFile  map[*FileReader]*openFile
	errs    map[uint32]error
	tick    uint64
}

type openFile struct {
	num  uint32
	f    *FileReader
	refs int
	used uint64
}

// NewIndexSource returns a source; open opens file number i; miss (may be
// nil) is asked about ids the index lacks.
func NewIndexSource(idx *Index, open func(uint32) (*FileReader, error), miss func(ID) (BlobRef, error)) *IndexSource {
	return &IndexSource{Index: idx, open: open, miss: miss, files: map[uint32]*openFile{},
		byFile: map[*FileReader]*openFile{}, errs: map[uint32]error{}}
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

// Release implements Releaser.
func (s *IndexSource) Release(ref BlobRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if of, ok := s.byFile[ref.File]; ok && of.refs > 0 {
		of.refs--
	}
}

func (s *IndexSource) file(i uint32) (*FileReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick++
	if of, ok := s.files[i]; ok {
		of.refs++
		of.used = s.tick
		return of.f, nil
	}
	if err, ok := s.errs[i]; ok {
		return nil, err
	}
	if s.MaxOpen > 0 && len(s.files) >= s.MaxOpen {
		s.evict()
	}
	f, err := s.open(i)
	if err != nil {
		s.errs[i] = err
		return nil, err
	}
	of := &openFile{num: i, f: f, refs: 1, used: s.tick}
	s.files[i], s.byFile[f] = of, of
	return f, nil
}

// evict closes the least recently used files not in use, down to MaxOpen/2.
func (s *IndexSource) evict() {
	var idle []*openFile
	for _, of := range s.files {
		if of.refs == 0 {
			idle = append(idle, of)
		}
	}
	slices.SortFunc(idle, func(a, b *openFile) int { return cmp.Compare(a.used, b.used) })
	for _, of := range idle {
		if len(s.files) <= s.MaxOpen/2 {
			break
		}
		of.f.Close()
		delete(s.files, of.num)
		delete(s.byFile, of.f)
	}
}

// Close closes the files opened.
func (s *IndexSource) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, of := range s.files {
		of.f.Close()
	}
	s.files, s.byFile = map[uint32]*openFile{}, map[*FileReader]*openFile{}
}
