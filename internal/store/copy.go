package store

import (
	"context"
	"fmt"
	"path"
	"strings"

	"rb_module_rustack/internal/chunk"
)

// StrayPacks are the packs of a store that no index file lists (writer
// sessions in flight, or killed before their index file): complete
// objects whose chunks are durable, found through the packs' own index
// sections. A copy into the store counts their chunks as present and
// lists the packs it relies on in its own index file (Writer.Adopt).
type StrayPacks struct {
	Names   []chunk.ID
	Entries [][]chunk.IndexEntry // per pack, Pack set to its number in Names
	Index   *chunk.Index         // every entry; Loc.File is the number in Names
}

// Stray reads the own indexes of the packs that si does not list. Packs
// that cannot be read are skipped (they count as absent: their chunks are
// sent again).
func (s *Store) Stray(ctx context.Context, si *Index) (*StrayPacks, error) {
	known := make(map[chunk.ID]bool, len(si.Packs))
	for _, p := range si.Packs {
		known[p] = true
	}
	names, err := s.list("packs/", ".pack", 1)
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: list packs: %w", s.Dir, err)
	}
	sp := &StrayPacks{}
	var all []chunk.IndexEntry
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := chunk.ParseID(strings.TrimSuffix(path.Base(n), ".pack"))
		if err != nil || known[id] || n != packName(id) {
			continue
		}
		r, err := s.OpenPack(id)
		if err != nil {
			continue
		}
		b, err := r.Section("index")
		r.Close()
		if err != nil {
			continue
		}
		_, entries, err := chunk.ParseIndex(b, true)
		if err != nil {
			continue
		}
		num := uint32(len(sp.Names))
		for i := range entries {
			entries[i].Pack = num
		}
		sp.Names = append(sp.Names, id)
		sp.Entries = append(sp.Entries, entries)
		all = append(all, entries...)
	}
	sp.Index = chunk.NewIndex(all)
	return sp, nil
}

// Adopt lists the complete pack name, with its own index entries, in
// the session's index file, so that chunks the session relies on in a
// pack no index file lists (a killed writer's) are indexed once the
// session commits. Listing a pack that another index file lists too is
// harmless (docs/format.md, section 7).
func (w *Writer) Adopt(name chunk.ID, entries []chunk.IndexEntry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("store writer closed")
	}
	num := uint32(len(w.packs))
	w.packs = append(w.packs, name)
	for _, e := range entries {
		e.Pack = num
		w.entries = append(w.entries, e)
	}
	return nil
}

// WithBackend returns the store on backend b instead of its own (the
// same objects seen through a wrapper, such as a test's fault hook).
func (s *Store) WithBackend(b Backend) *Store {
	c := *s
	c.be = b
	return &c
}
