package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/directio"
)

// Garbage collection (docs/format.md, section 7, "Garbage collection").

// gcLockName is the object name of the store's lock.
const gcLockName = "locks/gc"

// Lock takes the store's garbage-collection lock, the file locks/gc of
// the store, in mode, blocking until it is granted or ctx ends, and
// returns its release. A backup holds it Shared from loading the store's
// index (whose chunks it will not store again) until its archive, which
// references them, is published; Prune's caller holds it Exclusive
// while it collects the references of the remaining archives and calls
// Prune. So no chunk a backup in flight relies on is ever removed, and
// no backup starts from an index that is being rewritten. The lock also
// ends when the process does.
func (s *Store) Lock(ctx context.Context, mode LockMode) (unlock func() error, err error) {
	return s.be.Lock(ctx, gcLockName, mode)
}

// Defaults of PruneOptions.
const (
	DefaultMaxUnused = 0.10
	DefaultTempGrace = 10 * time.Minute
)

// The sizes of what Prune writes; variables so tests can make many small
// files.
var (
	// gcPackTarget is the size at which Prune closes a new pack.
	gcPackTarget int64 = PackTarget
	// gcPackBlobs is the most blobs Prune puts in one pack: it bounds the
	// memory of the pack's own index (some 200 bytes a blob while it is
	// encoded and sealed) to about 3 MiB. Packs of chunks of usual sizes
	// reach gcPackTarget first.
	gcPackBlobs = 1 << 14
	// gcIndexMax is the most entries Prune puts in one index file: it
	// bounds the memory of encoding and sealing one (about 104 bytes an
	// entry) to some 27 MiB however large the store.
	gcIndexMax = 1 << 18
)

// Reads of blobs to copy: blobs closer than gcReadGap are read together,
// up to gcReadSpan bytes at once.
const (
	gcReadGap  = 64 << 10
	gcReadSpan = 4 << 20
)

// PruneOptions tune Prune.
type PruneOptions struct {
	// MaxUnused is the share of a pack's blob bytes that may be unused
	// before the pack is rewritten (0: DefaultMaxUnused). Packs with no
	// used chunk are deleted whatever it is.
	MaxUnused float64
	// DryRun computes and reports what Prune would do, changing nothing.
	DryRun bool
	// Cipher is the cipher of the packs and index files Prune writes: not
	// "none" in a keyed store, "none" in an unkeyed one. Not needed for a
	// dry run.
	Cipher string
	// TempGrace is the age beyond which staging files are removed (0:
	// DefaultTempGrace; negative: every staging file, whatever its age).
	TempGrace time.Duration
	// Progress, when set, is called with the bytes of the packs Prune
	// rewrites or deletes that it has processed, and their total.
	Progress func(done, total int64)
	// Hook, when set, is called after each object Prune publishes or
	// deletes, with "put <name>" or "delete <name>" (crash tests kill the
	// process there). Nil in production.
	Hook func(event string)
}

// PruneReport is what Prune did (or, in a dry run, would do; then the
// bytes written and the files written are estimates).
type PruneReport struct {
	Packs             int       `json:"packs"`               // packs in the store before
	PacksDeleted      int       `json:"packs_deleted"`       // without a used chunk
	PacksRewritten    int       `json:"packs_rewritten"`     // copied (their used chunks) and deleted
	PacksWritten      int       `json:"packs_written"`       // new packs holding the copies
	PacksUnreadable   int       `json:"packs_unreadable"`    // not indexed and unreadable: kept
	IndexFiles        int       `json:"index_files"`         // index files before
	IndexFilesWritten int       `json:"index_files_written"` // new index files
	IndexFilesDeleted int       `json:"index_files_deleted"` // replaced by the new ones
	IndexFilesDamaged int       `json:"index_files_damaged"` // unreadable: kept, their packs read through their own indexes
	Chunks            int       `json:"chunks"`              // distinct chunks held before
	ChunksUsed        int       `json:"chunks_used"`         // of them referenced
	ChunksRemoved     int       `json:"chunks_removed"`      // distinct chunks no longer held after
	BytesBefore       int64     `json:"bytes_before"`        // packs and index files, before
	BytesAfter        int64     `json:"bytes_after"`         // and after
	BytesFreed        int64     `json:"bytes_freed"`         // of the objects deleted
	BytesWritten      int64     `json:"bytes_written"`       // of the objects written
	TempFilesRemoved  int       `json:"temp_files_removed"`  // staging files older than the grace
	TempBytesRemoved  int64     `json:"temp_bytes_removed"`  //
	DryRun            bool      `json:"dry_run"`             //
	Problems          []Problem `json:"problems,omitempty"`  // damage found (and left in place)
}

// packState is what Prune does with a pack.
type packState uint8

const (
	packKeep    packState = iota
	packRewrite           // copy its used chunks, then delete it
	packDelete            // no used chunk: delete it
	packMissing           // named by an index file, but not in the store
	packNew               // written by this Prune
)

// gcPack is Prune's view of one pack, parallel to storeScan.packs.
type gcPack struct {
	blob  int64 // bytes of its blobs (its entries' sealed lengths)
	upper int64 // of them, blobs of referenced chunks (every copy)
	used  int64 // of them, the copies kept
	state packState
	list  bool // a new index file lists its entries
}

// gc is one run of Prune.
type gc struct {
	s     *Store // the store, its backend wrapped for the hook
	o     PruneOptions
	sc    *storeScan
	rows  []chunk.IndexEntry // sc.rows sorted by id then pack
	marks chunk.Marks        // parallel to rows: the copy of a referenced chunk that is kept
	p     []gcPack
	rep   *PruneReport

	keys    *container.Keys // of the packs and index files written
	cur     *container.FileWriter
	curPos  []uint32 // rows of the blobs in cur, in write order
	done    int64    // for Progress
	total   int64
	scratch []byte // read spans (directio)
	opened  []byte // a blob's opened payload
	sealed  []byte // a blob re-sealed
}

// Prune frees what no archive references (docs/format.md, section 7,
// "Garbage collection"). The caller holds the store's exclusive lock
// (Lock) throughout. refs is called once and calls mark for every chunk
// id an archive references (ids may repeat; mark is safe for concurrent
// use). Packs without a referenced chunk are deleted, packs with more
// than MaxUnused of their blob bytes unreferenced are rewritten (their
// referenced blobs re-sealed into new packs), the index files naming
// either are replaced, and staging files older than TempGrace removed.
//
// Every step is safe to interrupt, by an error or a crash: new objects
// are published before the objects they replace are deleted, and index
// files before packs, so every referenced chunk stays readable, and the
// next Prune finishes the job. A referenced chunk the store lacks is an
// error, before anything is changed. A pack that cannot be read is kept.
//
// Memory: 56 bytes and 1 bit per chunk held (the entries of every index
// file, sorted), 4 bytes more per chunk copied, a few dozen bytes per
// pack, plus one file at a time: the index file being read (about 160
// bytes an entry while it is decrypted and parsed), the index file being
// written (about 104 bytes an entry, at most gcIndexMax) or the own index
// of the pack being written (at most gcPackBlobs blobs).
func (s *Store) Prune(ctx context.Context, refs func(mark func(chunk.ID)) error, o PruneOptions) (*PruneReport, error) {
	if refs == nil {
		return nil, errors.New("prune: no references given")
	}
	if o.MaxUnused == 0 {
		o.MaxUnused = DefaultMaxUnused
	}
	switch {
	case o.TempGrace == 0:
		o.TempGrace = DefaultTempGrace
	case o.TempGrace < 0:
		o.TempGrace = 0
	}
	if !o.DryRun && (o.Cipher == "" || s.Keyed == (o.Cipher == crypt.None)) {
		return nil, fmt.Errorf("prune: cipher %q does not match dedup store %s (keyed: %v)", o.Cipher, s.Dir, s.Keyed)
	}
	g := &gc{s: s, o: o, rep: &PruneReport{DryRun: o.DryRun}}
	if o.Hook != nil {
		hs := *s
		hs.be = hookBackend{Backend: s.be, hook: o.Hook}
		g.s = &hs
	}
	if err := g.load(ctx); err != nil {
		return nil, err
	}
	if err := g.mark(refs); err != nil {
		return nil, err
	}
	g.plan()
	if o.DryRun {
		g.planIndexes()
		g.estimate()
		tmp, err := stagedFiles(ctx, s.be, o.TempGrace)
		if err != nil {
			return nil, err
		}
		for _, f := range tmp {
			g.rep.TempFilesRemoved++
			g.rep.TempBytesRemoved += f.Size
		}
		g.finish()
		return g.rep, nil
	}
	err := g.run(ctx)
	g.finish()
	if err != nil {
		return g.rep, fmt.Errorf("prune dedup store %s: %w (nothing referenced was lost; run prune again)", s.Dir, err)
	}
	return g.rep, nil
}

// run does what the plan says: steps d to g.
func (g *gc) run(ctx context.Context) error {
	for i := range g.p {
		if st := g.p[i].state; st == packRewrite || st == packDelete {
			g.total += g.sc.packs[i].size
		}
	}
	g.progress()
	if err := g.rewrite(ctx); err != nil {
		return err
	}
	g.planIndexes() // again: damage found while copying keeps packs
	g.count()
	if err := g.writeIndexes(ctx); err != nil {
		return err
	}
	if err := g.deleteIndexes(ctx); err != nil {
		return err
	}
	if err := g.deletePacks(ctx); err != nil {
		return err
	}
	g.done = g.total
	g.progress()
	n, b, err := g.s.be.Sweep(ctx, g.o.TempGrace)
	g.rep.TempFilesRemoved, g.rep.TempBytesRemoved = n, b
	return err
}

// load is step a: every index file and the own indexes of the packs none
// names, sorted by id.
func (g *gc) load(ctx context.Context) error {
	sc, err := g.s.scan(ctx)
	if err != nil {
		return err
	}
	g.sc = sc
	g.rep.Problems = sc.problems
	// Entries of missing packs are no copies.
	rows := slices.DeleteFunc(sc.rows, func(e chunk.IndexEntry) bool { return !sc.packs[e.Pack].listed })
	slices.SortFunc(rows, func(a, b chunk.IndexEntry) int {
		if c := bytes.Compare(a.ID[:], b.ID[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Pack, b.Pack)
	})
	// A pack named by two index files (a Prune that crashed before it
	// deleted the old one) has its entries twice.
	g.rows = slices.CompactFunc(rows, func(a, b chunk.IndexEntry) bool { return a.ID == b.ID && a.Pack == b.Pack })
	sc.rows = nil
	if uint64(len(g.rows)) >= 1<<32 {
		return fmt.Errorf("%d index entries: too many", len(g.rows))
	}
	g.p = make([]gcPack, len(sc.packs))
	for _, e := range g.rows {
		g.p[e.Pack].blob += int64(e.CLen)
	}
	r := g.rep
	for _, sp := range sc.packs {
		if sp.listed {
			r.Packs++
			r.BytesBefore += sp.size
		}
		if sp.unreadable {
			r.PacksUnreadable++
		}
	}
	for _, f := range sc.files {
		r.IndexFiles++
		r.BytesBefore += f.size
		if f.err != nil {
			r.IndexFilesDamaged++
		}
	}
	return nil
}

// runEnd is the end of the run of rows with the id of rows[i].
func (g *gc) runEnd(i int) int {
	j := i + 1
	for j < len(g.rows) && g.rows[j].ID == g.rows[i].ID {
		j++
	}
	return j
}

// mark is step b: the marks of the referenced chunks, then the choice of
// one copy of each.
func (g *gc) mark(refs func(mark func(chunk.ID)) error) error {
	rows := g.rows
	g.marks = chunk.NewMarks(len(rows))
	var miss missingSet
	err := refs(func(id chunk.ID) {
		if i := chunk.SearchEntries(rows, id); i < len(rows) && rows[i].ID == id {
			g.marks.Set(i) // the first copy
		} else {
			miss.add(id)
		}
	})
	if err != nil {
		return fmt.Errorf("prune: references: %w", err)
	}
	if err := miss.err(g.s); err != nil {
		if n := g.rep.PacksUnreadable + g.rep.IndexFilesDamaged; n > 0 {
			err = fmt.Errorf("%w; %d packs or index files could not be read", err, n)
		}
		return err
	}
	// Every copy of a referenced chunk counts for its pack's upper bound
	// of used bytes; the copy kept is the one in the pack that is used
	// most by that measure, so duplicates collect in the packs that stay
	// (and all duplicates between two packs go to the same one).
	for i := 0; i < len(rows); {
		j := g.runEnd(i)
		if g.marks.Has(i) {
			for k := i; k < j; k++ {
				g.p[rows[k].Pack].upper += int64(rows[k].CLen)
			}
		}
		i = j
	}
	for i := 0; i < len(rows); {
		j := g.runEnd(i)
		if j-i > 1 && g.marks.Has(i) {
			best := i
			for k := i + 1; k < j; k++ {
				if g.better(rows[k].Pack, rows[best].Pack) {
					best = k
				}
			}
			g.marks.Clear(i)
			g.marks.Set(best)
		}
		i = j
	}
	return nil
}

// better reports whether a copy in pack a is preferable to one in pack b.
func (g *gc) better(a, b uint32) bool {
	pa, pb := &g.p[a], &g.p[b]
	ra, rb := float64(pa.upper)/float64(max(pa.blob, 1)), float64(pb.upper)/float64(max(pb.blob, 1))
	if ra != rb {
		return ra > rb
	}
	if ia, ib := g.sc.packs[a].indexed, g.sc.packs[b].indexed; ia != ib {
		return ia
	}
	return a < b
}

// plan is step c: what becomes of each pack.
func (g *gc) plan() {
	rows := g.rows
	for i, e := range rows {
		if g.marks.Has(i) {
			g.p[e.Pack].used += int64(e.CLen)
		}
	}
	for i := range g.p {
		p, sp := &g.p[i], &g.sc.packs[i]
		switch {
		case !sp.listed:
			p.state = packMissing
		case sp.unreadable:
			p.state = packKeep
		case p.used == 0:
			p.state = packDelete
		case float64(p.blob-p.used) > g.o.MaxUnused*float64(p.blob):
			p.state = packRewrite
		default:
			p.state = packKeep
		}
	}
	// A kept copy in a pack that goes while another copy is in a pack
	// that stays: keep that one instead (the staying pack only gains
	// used bytes; the other may end up with none).
	for i := 0; i < len(rows); {
		j := g.runEnd(i)
		if j-i > 1 {
			for c := i; c < j; c++ {
				if !g.marks.Has(c) || g.p[rows[c].Pack].state == packKeep {
					continue
				}
				for k := i; k < j; k++ {
					if g.p[rows[k].Pack].state == packKeep {
						g.p[rows[c].Pack].used -= int64(rows[c].CLen)
						g.p[rows[k].Pack].used += int64(rows[k].CLen)
						g.marks.Clear(c)
						g.marks.Set(k)
						break
					}
				}
				break
			}
		}
		i = j
	}
	for i := range g.p {
		if p := &g.p[i]; p.state == packRewrite && p.used == 0 {
			p.state = packDelete
		}
	}
	g.count()
}

// count fills in the chunk counts and the packs deleted and rewritten.
func (g *gc) count() {
	r, rows := g.rep, g.rows
	r.Chunks, r.ChunksUsed, r.ChunksRemoved = 0, 0, 0
	for i := 0; i < len(rows); {
		j := g.runEnd(i)
		r.Chunks++
		stays := false
		for k := i; k < j; k++ {
			if g.marks.Has(k) {
				r.ChunksUsed++
			}
			if st := g.p[rows[k].Pack].state; st == packKeep || st == packNew || g.marks.Has(k) {
				stays = true // kept, or copied
			}
		}
		if !stays {
			r.ChunksRemoved++
		}
		i = j
	}
	r.PacksDeleted, r.PacksRewritten = 0, 0
	for i := range g.p {
		switch g.p[i].state {
		case packDelete:
			r.PacksDeleted++
		case packRewrite:
			r.PacksRewritten++
		}
	}
}

// replaced reports whether index file f is replaced: it names a pack that
// goes (or is missing). Damaged index files are left alone.
func (g *gc) replaced(f *scanIndex) bool {
	if f.err != nil {
		return false
	}
	for _, p := range f.packs {
		if st := g.p[p].state; st != packKeep {
			return true
		}
	}
	return false
}

// planIndexes decides which kept packs the new index files list, in
// full: those that a replaced index file names, and those no readable
// index file names (crashed sessions, damaged index files). An index file
// that stays may list only part of a pack's entries (the files Prune
// writes are cut by id, and a chunk with two listed copies is listed once
// per file), so a pack's other index files are no reason to leave it out.
func (g *gc) planIndexes() {
	replacedNames := make([]bool, len(g.p))
	for fi := range g.sc.files {
		if f := &g.sc.files[fi]; g.replaced(f) {
			for _, p := range f.packs {
				replacedNames[p] = true
			}
		}
	}
	for i := range g.p {
		p := &g.p[i]
		indexed := i < len(g.sc.packs) && g.sc.packs[i].indexed
		p.list = p.state == packNew || p.state == packKeep && p.blob > 0 && (replacedNames[i] || !indexed)
	}
}

// listedRow returns the round-th row of the run [i, j) that a new index
// file lists (-1 when there are fewer): rows of listed packs, the kept
// copy first. An index file lists an id once, so the copies of a chunk in
// two listed packs go to files of different rounds.
func (g *gc) listedRow(i, j, round int) int {
	n := 0
	for pass := range 2 {
		for k := i; k < j; k++ {
			if g.marks.Has(k) == (pass == 0) && g.p[g.rows[k].Pack].list {
				if n == round {
					return k
				}
				n++
			}
		}
	}
	return -1
}

// listedCount is the number of rows of the run [i, j) the new index files
// list; with planned, also the kept copy in a pack to rewrite (a dry run:
// its copy in a new pack).
func (g *gc) listedCount(i, j int, planned bool) int {
	n := 0
	for k := i; k < j; k++ {
		if st := g.p[g.rows[k].Pack]; st.list || planned && g.marks.Has(k) && st.state == packRewrite {
			n++
		}
	}
	return n
}

// listedFiles is the number of index files for the listed rows.
func (g *gc) listedFiles(planned bool) (files, entries int) {
	var perRound []int
	for i := 0; i < len(g.rows); {
		j := g.runEnd(i)
		n := g.listedCount(i, j, planned)
		for len(perRound) < n {
			perRound = append(perRound, 0)
		}
		for r := range n {
			perRound[r]++
		}
		entries += n
		i = j
	}
	for _, n := range perRound {
		files += (n + gcIndexMax - 1) / gcIndexMax
	}
	return files, entries
}

// estimate fills in a dry run's writes: the used bytes of the packs
// rewritten, and the index entries to list.
func (g *gc) estimate() {
	r := g.rep
	var copied int64
	nCopied := 0
	for i := range g.p {
		if g.p[i].state == packRewrite {
			copied += g.p[i].used
		}
	}
	for i, e := range g.rows {
		if g.marks.Has(i) && g.p[e.Pack].state == packRewrite {
			nCopied++
		}
	}
	files, listed := g.listedFiles(true)
	if copied > 0 {
		r.PacksWritten = int(max((copied+gcPackTarget-1)/gcPackTarget, int64((nCopied+gcPackBlobs-1)/gcPackBlobs)))
	}
	r.IndexFilesWritten = files
	r.BytesWritten = copied + int64(listed)*entrySize
	for fi := range g.sc.files {
		if g.replaced(&g.sc.files[fi]) {
			r.IndexFilesDeleted++
		}
	}
	r.BytesFreed = g.freed()
}

// freed is the bytes of the packs and index files that go.
func (g *gc) freed() int64 {
	var n int64
	for i := range g.p {
		if st := g.p[i].state; st == packRewrite || st == packDelete {
			n += g.sc.packs[i].size
		}
	}
	for fi := range g.sc.files {
		if f := &g.sc.files[fi]; g.replaced(f) {
			n += f.size
		}
	}
	return n
}

// finish completes the report. In a run, BytesFreed and BytesWritten
// count what was done, also when it stopped early.
func (g *gc) finish() {
	r := g.rep
	r.BytesAfter = r.BytesBefore - r.BytesFreed + r.BytesWritten
}

func (g *gc) progress() {
	if g.o.Progress != nil {
		g.o.Progress(min(g.done, g.total), g.total)
	}
}

// rewrite is step d: the kept blobs of the packs to rewrite, re-sealed
// into new packs (published as they fill), in pack and offset order.
func (g *gc) rewrite(ctx context.Context) error {
	n := 0
	for i, e := range g.rows {
		if g.marks.Has(i) && g.p[e.Pack].state == packRewrite {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	pos := make([]uint32, 0, n) // 4 bytes per chunk copied
	for i, e := range g.rows {
		if g.marks.Has(i) && g.p[e.Pack].state == packRewrite {
			pos = append(pos, uint32(i))
		}
	}
	slices.SortFunc(pos, func(a, b uint32) int {
		ra, rb := &g.rows[a], &g.rows[b]
		if c := cmp.Compare(ra.Pack, rb.Pack); c != 0 {
			return c
		}
		return cmp.Compare(ra.Off, rb.Off)
	})
	keys, err := container.NewKeys(g.o.Cipher, g.s.master)
	if err != nil {
		return err
	}
	g.keys = keys
	defer func() {
		directio.Put(g.scratch)
		g.scratch = nil
		if g.cur != nil {
			g.cur.Abort()
			g.cur = nil
		}
	}()
	for a := 0; a < len(pos); {
		pk := g.rows[pos[a]].Pack
		b := a + 1
		for b < len(pos) && g.rows[pos[b]].Pack == pk {
			b++
		}
		if err := g.copyPack(ctx, pk, pos[a:b]); err != nil {
			return err
		}
		a = b
	}
	if g.cur != nil {
		return g.finishPack()
	}
	return nil
}

// copyPack copies the blobs of rows pos (sorted by offset) of pack pk.
// Damage keeps the pack (and every other copy of the chunks concerned).
func (g *gc) copyPack(ctx context.Context, pk uint32, pos []uint32) error {
	base, size := g.done, g.sc.packs[pk].size
	defer func() {
		g.done = base + size
		g.progress()
	}()
	if g.p[pk].state != packRewrite {
		return nil // kept since the plan: damage in another copy
	}
	r, err := g.s.OpenPack(g.sc.packs[pk].name)
	if errors.Is(err, crypt.ErrWrongKey) {
		return err
	}
	if err != nil {
		g.damaged(pk, pos, err)
		return nil
	}
	defer r.Close()
	from := r.Sealer()
	for i := 0; i < len(pos); {
		if err := ctx.Err(); err != nil {
			return err
		}
		first := &g.rows[pos[i]]
		start := int64(first.Off)
		end := start + int64(first.CLen)
		j := i + 1
		for ; j < len(pos); j++ {
			e := &g.rows[pos[j]]
			off, stop := int64(e.Off), int64(e.Off)+int64(e.CLen)
			if off < end || off-end > gcReadGap || stop-start > gcReadSpan {
				break
			}
			end = stop
		}
		var data []byte
		data, g.scratch, err = r.ReadSpan(g.scratch, start, end-start)
		if err != nil {
			g.damaged(pk, pos[i:], err)
			return nil
		}
		for k := i; k < j; k++ {
			e := &g.rows[pos[k]]
			blob := data[int64(e.Off)-start : int64(e.Off)-start+int64(e.CLen)]
			g.sealed, g.opened, err = container.ResealBlob(from, g.keys.Sealer, e.ID, blob, g.opened, g.sealed[:0])
			if err != nil {
				g.damaged(pk, pos[k:k+1], err)
				return nil
			}
			if err := g.put(ctx, pos[k]); err != nil {
				return err
			}
		}
		g.done = base + min(end, size)
		g.progress()
		i = j
	}
	return nil
}

// damaged keeps pack pk, whose rows pos could not be read, and every
// other copy of their chunks in packs that were to go: a chunk whose
// kept copy is damaged keeps all its copies.
func (g *gc) damaged(pk uint32, pos []uint32, err error) {
	g.p[pk].state = packKeep
	pr := Problem{Object: packName(g.sc.packs[pk].name), Problem: "kept, not rewritten: " + err.Error()}
	if len(pos) == 1 {
		pr.Chunk = g.rows[pos[0]].ID.String()
	}
	g.rep.Problems = append(g.rep.Problems, pr)
	for _, q := range pos {
		id := g.rows[q].ID
		for k := chunk.SearchEntries(g.rows, id); k < len(g.rows) && g.rows[k].ID == id; k++ {
			if p := &g.p[g.rows[k].Pack]; p.state == packRewrite || p.state == packDelete {
				p.state = packKeep
			}
		}
	}
}

// put appends the re-sealed blob of row q to the new pack.
func (g *gc) put(ctx context.Context, q uint32) error {
	if g.cur == nil {
		dir, err := g.s.be.Staging(ctx, "packs/")
		if err != nil {
			return err
		}
		f, err := container.CreateFile(dir, "pack", container.KindPack, g.keys, nil, container.FileOpts{HashContent: true, Direct: true})
		if err != nil {
			return err
		}
		g.cur = f
	}
	e := &g.rows[q]
	if err := g.cur.PutBlob(e.ID, g.sealed, int(e.PLen)); err != nil {
		return err
	}
	g.curPos = append(g.curPos, q)
	if g.cur.Size() >= gcPackTarget || len(g.curPos) >= gcPackBlobs {
		return g.finishPack()
	}
	return nil
}

// finishPack closes and publishes the new pack; its rows then locate the
// copies in it.
func (g *gc) finishPack() error {
	f := g.cur
	g.cur = nil
	ents := f.Entries() // in write order, like curPos
	num := uint32(len(g.sc.packs))
	for k, e := range ents {
		r := &g.rows[g.curPos[k]]
		r.Pack, r.Off, r.CLen = num, e.Off, e.CLen
	}
	g.curPos = g.curPos[:0]
	name, _, err := g.s.publishPack(f)
	if err != nil {
		return err
	}
	g.sc.packs = append(g.sc.packs, scanPack{name: name, size: f.Size(), listed: true, namedBy: -1})
	g.p = append(g.p, gcPack{state: packNew, list: true})
	g.rep.PacksWritten++
	g.rep.BytesWritten += f.Size()
	return nil
}

// writeIndexes is step e: index files listing the new packs and the kept
// packs planIndexes chose, gcIndexMax entries each, in id order. A chunk
// is listed once per file; its further listed copies go to the files of
// later rounds (rare: chunks in two kept packs).
func (g *gc) writeIndexes(ctx context.Context) error {
	local := make([]int32, len(g.p))
	for i := range local {
		local[i] = -1
	}
	var filePacks []uint32
	for round := 0; ; round++ {
		wrote := false
		for start := 0; start < len(g.rows); {
			n, end := 0, start
			for end < len(g.rows) && n < gcIndexMax {
				j := g.runEnd(end)
				if k := g.listedRow(end, j, round); k >= 0 {
					n++
					if pk := g.rows[k].Pack; local[pk] < 0 {
						local[pk] = int32(len(filePacks))
						filePacks = append(filePacks, pk)
					}
				}
				end = j
			}
			if n > 0 {
				wrote = true
				if err := g.writeIndex(ctx, start, n, round, filePacks, local); err != nil {
					return err
				}
			}
			for _, pk := range filePacks {
				local[pk] = -1
			}
			filePacks = filePacks[:0]
			start = end
		}
		if !wrote {
			return nil
		}
	}
}

// writeIndex writes and publishes one index file: the n rows of round
// listed from start, their packs numbered by local.
func (g *gc) writeIndex(ctx context.Context, start, n, round int, packs []uint32, local []int32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if g.keys == nil {
		keys, err := container.NewKeys(g.o.Cipher, g.s.master)
		if err != nil {
			return err
		}
		g.keys = keys
	}
	names := make([]chunk.ID, len(packs))
	for i, pk := range packs {
		names[i] = g.sc.packs[pk].name
	}
	cursor := start
	b := chunk.EncodeIndexFunc(names, n, func() chunk.IndexEntry {
		for {
			j := g.runEnd(cursor)
			k := g.listedRow(cursor, j, round)
			cursor = j
			if k >= 0 {
				e := g.rows[k]
				e.Pack = uint32(local[e.Pack])
				return e
			}
		}
	})
	dir, err := g.s.be.Staging(ctx, "index/")
	if err != nil {
		return err
	}
	f, err := container.CreateFile(dir, "idx", container.KindIndex, g.keys, nil, container.FileOpts{HashContent: true})
	if err != nil {
		return err
	}
	err = f.AddSection("index", b)
	b = nil
	var sum [32]byte
	if err == nil {
		sum, err = f.Close()
	}
	if err == nil {
		err = g.s.put(f, "index/"+chunk.ID(sum).String()+".idx")
	}
	if err != nil {
		f.Abort()
		return err
	}
	g.rep.IndexFilesWritten++
	g.rep.BytesWritten += f.Size()
	return nil
}

// deleteIndexes is the first half of step f: the index files replaced.
func (g *gc) deleteIndexes(ctx context.Context) error {
	for fi := range g.sc.files {
		f := &g.sc.files[fi]
		if !g.replaced(f) {
			continue
		}
		if err := g.s.be.Delete(ctx, f.name); err != nil {
			return err
		}
		g.rep.IndexFilesDeleted++
		g.rep.BytesFreed += f.size
	}
	return nil
}

// deletePacks is the second half of step f: the packs rewritten or
// without a used chunk, which no index file names any more.
func (g *gc) deletePacks(ctx context.Context) error {
	for i := range g.p {
		st := g.p[i].state
		if st != packRewrite && st != packDelete {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sp := &g.sc.packs[i]
		if err := g.s.be.Delete(ctx, packName(sp.name)); err != nil {
			return err
		}
		g.rep.BytesFreed += sp.size
		if st == packDelete {
			g.done += sp.size
			g.progress()
		}
	}
	return nil
}

// hookBackend calls hook after each object put or deleted.
type hookBackend struct {
	Backend
	hook func(event string)
}

func (h hookBackend) Put(ctx context.Context, staged, name string) error {
	err := h.Backend.Put(ctx, staged, name)
	if err == nil || errors.Is(err, ErrExist) {
		h.hook("put " + name)
	}
	return err
}

func (h hookBackend) Delete(ctx context.Context, name string) error {
	err := h.Backend.Delete(ctx, name)
	if err == nil {
		h.hook("delete " + name)
	}
	return err
}
