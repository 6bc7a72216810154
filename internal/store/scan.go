package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
)

// Problem is damage or an inconsistency found in a store: Object is the
// object's name ("packs/ab/<hex>.pack", "index/<hex>.idx"), Chunk the
// chunk id in hex when it concerns one chunk.
type Problem struct {
	Object  string `json:"object"`
	Chunk   string `json:"chunk,omitempty"`
	Problem string `json:"problem"`
}

// scanPack is one pack a scan knows of: listed in packs/, or only named
// by an index file (then it is missing).
type scanPack struct {
	name       chunk.ID
	size       int64
	listed     bool  // the object exists (listed under packs/)
	indexed    bool  // a readable index file names it
	unreadable bool  // not indexed, and its own index could not be read
	namedBy    int32 // the first readable index file naming it, -1: none
}

// scanIndex is one index file.
type scanIndex struct {
	name  string
	size  int64
	packs []uint32 // the packs it names (numbers into storeScan.packs)
	err   error    // not nil: damaged or unreadable, skipped
}

// storeScan is what a store holds: its packs, its index files and the
// entries of both. Memory: 56 bytes per entry (chunk.IndexEntry) plus
// per pack and per index file a few dozen bytes.
type storeScan struct {
	packs    []scanPack
	byName   map[chunk.ID]uint32
	files    []scanIndex
	rows     []chunk.IndexEntry // Pack: a number into packs
	problems []Problem
}

// entrySize bounds the entries of an index file from its size: an entry
// takes 52 bytes on disk.
const entrySize = 52

// scan lists the store's packs and index files and reads every readable
// index file and, for the packs no readable index file names (sessions
// that crashed, or whose index file is damaged), the packs' own indexes.
// It returns an error only when it cannot list the store or the key is
// wrong; damaged index files and unreadable packs are problems.
func (s *Store) scan(ctx context.Context) (*storeScan, error) {
	sc := &storeScan{byName: map[chunk.ID]uint32{}}
	names, err := s.list("packs/", ".pack", 1)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		id, err := chunk.ParseID(strings.TrimSuffix(path.Base(n), ".pack"))
		if err != nil || n != packName(id) {
			continue // not a pack of ours
		}
		sc.byName[id] = uint32(len(sc.packs))
		sc.packs = append(sc.packs, scanPack{name: id, listed: true, namedBy: -1})
	}
	idx, err := s.list("index/", ".idx", 0)
	if err != nil {
		return nil, err
	}
	// Sizes first, so the table of entries is allocated once: growing it
	// by appending would hold the old and the new array at once.
	var total int64
	for _, n := range idx {
		size, err := s.size(ctx, n)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the listing
		}
		if err != nil {
			return nil, err
		}
		sc.files = append(sc.files, scanIndex{name: n, size: size})
		total += size / entrySize
	}
	sc.rows = make([]chunk.IndexEntry, 0, total)
	for fi := range sc.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := &sc.files[fi]
		pk, entries, err := s.readIndexFile(f.name)
		if errors.Is(err, crypt.ErrWrongKey) {
			return nil, err
		}
		if err != nil {
			f.err = err
			sc.problems = append(sc.problems, Problem{Object: f.name, Problem: "index file unreadable, its packs count as not indexed: " + err.Error()})
			continue
		}
		f.packs = make([]uint32, len(pk))
		for i, p := range pk {
			num, ok := sc.byName[p]
			if !ok {
				num = uint32(len(sc.packs))
				sc.byName[p] = num
				sc.packs = append(sc.packs, scanPack{name: p, namedBy: -1})
			}
			f.packs[i] = num
			if sp := &sc.packs[num]; !sp.indexed {
				sp.indexed, sp.namedBy = true, int32(fi)
			}
		}
		for _, e := range entries {
			e.Pack = f.packs[e.Pack]
			sc.rows = append(sc.rows, e)
		}
	}
	// With an index file damaged, a pack it named may also be named by a
	// readable index file that lists only part of it (Prune's index files
	// are cut by id): then the packs' own indexes are read as well, so
	// that no chunk only the damaged file listed goes unseen.
	damaged := false
	for _, f := range sc.files {
		damaged = damaged || f.err != nil
	}
	for i := range sc.packs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sp := &sc.packs[i]
		if damaged && sp.listed && sp.indexed {
			if err := s.scanOwn(sc, uint32(i)); err != nil {
				return nil, err
			}
		}
		switch {
		case !sp.listed:
			sc.problems = append(sc.problems, Problem{Object: packName(sp.name), Problem: "missing, but named by " + sc.files[sp.namedBy].name})
		case sp.indexed:
			size, err := s.size(ctx, packName(sp.name))
			if errors.Is(err, fs.ErrNotExist) {
				sp.listed = false
				sc.problems = append(sc.problems, Problem{Object: packName(sp.name), Problem: "missing, but named by " + sc.files[sp.namedBy].name})
				continue
			}
			if err != nil {
				return nil, err
			}
			sp.size = size
		default:
			if err := s.scanUnindexed(sc, uint32(i)); err != nil {
				return nil, err
			}
		}
	}
	return sc, nil
}

// scanUnindexed reads the own index of pack num, which no readable index
// file names. A pack that cannot be read is marked unreadable.
func (s *Store) scanUnindexed(sc *storeScan, num uint32) error {
	sp := &sc.packs[num]
	entries, size, err := s.ownIndex(sp.name)
	if errors.Is(err, crypt.ErrWrongKey) {
		return err
	}
	if size > 0 {
		sp.size = size
	}
	if err != nil {
		sp.unreadable = true
		sc.problems = append(sc.problems, Problem{Object: packName(sp.name), Problem: "not indexed and unreadable (kept): " + err.Error()})
		return nil
	}
	sc.addRows(num, entries)
	return nil
}

// scanOwn adds the entries of the own index of pack num, which index
// files name too (duplicates of theirs). A pack that cannot be read is a
// problem (its index files' entries remain).
func (s *Store) scanOwn(sc *storeScan, num uint32) error {
	sp := &sc.packs[num]
	entries, _, err := s.ownIndex(sp.name)
	if errors.Is(err, crypt.ErrWrongKey) {
		return err
	}
	if err != nil {
		sc.problems = append(sc.problems, Problem{Object: packName(sp.name), Problem: "own index unreadable: " + err.Error()})
		return nil
	}
	sc.addRows(num, entries)
	return nil
}

// ownIndex reads the entries of pack name's own index section, and the
// pack's size.
func (s *Store) ownIndex(name chunk.ID) ([]chunk.IndexEntry, int64, error) {
	r, err := s.OpenPack(name)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	b, err := r.Section("index")
	if err != nil {
		return nil, r.Size(), err
	}
	_, entries, err := chunk.ParseIndex(b, true)
	return entries, r.Size(), err
}

// addRows adds entries as rows of pack num.
func (sc *storeScan) addRows(num uint32, entries []chunk.IndexEntry) {
	for _, e := range entries {
		e.Pack = num
		sc.rows = append(sc.rows, e)
	}
}

// size is the size of object name.
func (s *Store) size(ctx context.Context, name string) (int64, error) {
	o, err := s.be.Open(ctx, name)
	if err != nil {
		return 0, err
	}
	defer o.Close()
	return o.Size(), nil
}

// maxMissingKept bounds the distinct missing ids a missingSet remembers.
const maxMissingKept = 1 << 16

// missingSet counts the distinct referenced ids a store lacks. It
// remembers up to maxMissingKept of them; beyond, an id seen again may be
// counted again. Safe for concurrent use.
type missingSet struct {
	mu    sync.Mutex
	seen  map[chunk.ID]struct{}
	count int
	first chunk.ID
}

// add counts id, unless it was seen before; it returns whether it was
// new and the count.
func (m *missingSet) add(id chunk.ID) (isNew bool, count int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[chunk.ID]struct{}{}
		m.first = id
	}
	if _, ok := m.seen[id]; ok {
		return false, m.count
	}
	if len(m.seen) < maxMissingKept {
		m.seen[id] = struct{}{}
	}
	m.count++
	return true, m.count
}

// err is the error for missing referenced chunks, nil when none.
func (m *missingSet) err(s *Store) error {
	if m.count == 0 {
		return nil
	}
	return fmt.Errorf("dedup store %s: %w: %d referenced chunks are in no index and no pack (for example %s): the store or an archive is damaged; nothing was deleted (run verify)",
		s.Dir, chunk.ErrMissing, m.count, m.first)
}
