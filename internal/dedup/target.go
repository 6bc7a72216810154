package dedup

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/store"
)

// FileTarget stores a session's new chunks in one container file (an
// archive of an archive pool). Chunks in Base count as present.
type FileTarget struct {
	W      *container.FileWriter
	Base   *chunk.Index
	Keys   *container.Keys
	claims *chunk.ClaimSet
}

// NewFileTarget returns a target writing to w.
func NewFileTarget(w *container.FileWriter, keys *container.Keys, base *chunk.Index) *FileTarget {
	return &FileTarget{W: w, Base: base, Keys: keys, claims: chunk.NewClaimSet()}
}

// Claim implements Target.
func (t *FileTarget) Claim(id chunk.ID) bool {
	if t.Base.Has(id) {
		return false
	}
	return t.claims.Claim(id)
}

// Put implements Target.
func (t *FileTarget) Put(id chunk.ID, blob []byte, plen int) error {
	return t.W.PutBlob(id, blob, plen)
}

// Sealer implements Target.
func (t *FileTarget) Sealer() *crypt.Sealer { return t.Keys.Sealer }

// IndexSource finds chunks through an Index whose file numbers refer to
// files opened on demand. With MaxOpen > 0 it keeps at most that many files
// open (least recently used ones not in use are closed; a blob's file is in
// use from Locate to Release). Safe for concurrent use.
type IndexSource struct {
	Index   *chunk.Index
	MaxOpen int
	open    func(file uint32) (*container.FileReader, error)
	miss    func(id chunk.ID) (BlobRef, error) // optional fallback
	mu      sync.Mutex
	files   map[uint32]*openFile
	byFile  map[*container.FileReader]*openFile
	errs    map[uint32]error
	tick    uint64
	onClose func() // optional: called by Close after it closed the files (the miss function's own)
}

type openFile struct {
	num  uint32
	f    *container.FileReader
	refs int
	used uint64
}

// NewIndexSource returns a source; open opens file number i; miss (may be
// nil) is asked about ids the index lacks.
func NewIndexSource(idx *chunk.Index, open func(uint32) (*container.FileReader, error), miss func(chunk.ID) (BlobRef, error)) *IndexSource {
	return &IndexSource{Index: idx, open: open, miss: miss, files: map[uint32]*openFile{},
		byFile: map[*container.FileReader]*openFile{}, errs: map[uint32]error{}}
}

// Locate implements Source.
func (s *IndexSource) Locate(id chunk.ID) (BlobRef, error) {
	loc, ok := s.Index.Lookup(id)
	if !ok {
		if s.miss != nil {
			return s.miss(id)
		}
		return BlobRef{}, fmt.Errorf("%w: chunk %s is in no index", chunk.ErrMissing, id.Short())
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

func (s *IndexSource) file(i uint32) (*container.FileReader, error) {
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

// Close closes the files opened. The source may be used again: it opens
// them again.
func (s *IndexSource) Close() {
	s.mu.Lock()
	for _, of := range s.files {
		of.f.Close()
	}
	s.files, s.byFile = map[uint32]*openFile{}, map[*container.FileReader]*openFile{}
	s.mu.Unlock()
	if s.onClose != nil {
		s.onClose()
	}
}

// maxOpenPacks bounds the packs a store source keeps open (two descriptors
// each).
const maxOpenPacks = 256

// StoreSource returns a chunk source over the loaded index si of store st;
// chunks the index lacks are looked for in packs that no index lists yet
// (found and opened at the first miss, kept open until Close; a source
// used again after Close looks for them again).
func StoreSource(st *store.Store, si *store.Index) *IndexSource {
	var scan struct {
		sync.Mutex
		done  bool // scanned since the source was made or last closed
		locs  map[chunk.ID]chunk.Loc
		files []*container.FileReader
		err   error
	}
	miss := func(id chunk.ID) (BlobRef, error) {
		scan.Lock()
		defer scan.Unlock()
		if !scan.done {
			scan.locs, scan.files, scan.err = st.Unindexed(si)
			scan.done = true
		}
		if scan.err != nil {
			return BlobRef{}, scan.err
		}
		if loc, ok := scan.locs[id]; ok {
			return BlobRef{File: scan.files[loc.File], Off: loc.Off, CLen: loc.CLen, PLen: loc.PLen}, nil
		}
		return BlobRef{}, fmt.Errorf("%w: chunk %s is in no index and no pack of the store", chunk.ErrMissing, id.Short())
	}
	src := NewIndexSource(si.Index, func(i uint32) (*container.FileReader, error) { return st.OpenPack(si.Packs[i]) }, miss)
	src.MaxOpen = maxOpenPacks
	src.onClose = func() {
		scan.Lock()
		defer scan.Unlock()
		for _, f := range scan.files {
			f.Close()
		}
		scan.done, scan.locs, scan.files, scan.err = false, nil, nil, nil
	}
	return src
}
