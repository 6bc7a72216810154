package dedup

import (
	"fmt"
	"slices"
	"sort"

	"rb_module_rustack/internal/chunk"
)

// loadRun rebuilds the content of a chunk of id and n bytes into out
// (capacity >= n): read from its blob when d is nil, else from its delta.
func (s *readState) loadRun(src Source, id chunk.ID, n int64, d *chunk.Delta, out []byte) ([]byte, error) {
	if d == nil {
		return s.load(src, id, n, out)
	}
	return s.loadDelta(src, id, n, d, out, 1)
}

// recentBases is how many whole bases a restore worker keeps decoded: a
// delta whose write moved a cut point is rebuilt from two or three of its
// parent's chunks, and its neighbours from some of the same.
const recentBases = 4

type recentBase struct {
	id chunk.ID
	n  int64
	b  []byte // the decoded content when n > 0
}

// baseOf returns the content of the whole chunk id (n bytes), a base of a
// delta: from the worker's recent bases, else loaded into the oldest one's
// buffer. The content is valid until the next baseOf.
func (s *readState) baseOf(src Source, id chunk.ID, n int64) ([]byte, error) {
	for i := range s.recent {
		if r := &s.recent[i]; r.n == n && r.id == id {
			return r.b[:n], nil
		}
	}
	r := &s.recent[s.nextRecent]
	s.nextRecent = (s.nextRecent + 1) % recentBases
	r.n = 0
	if int64(cap(r.b)) < n {
		r.b = make([]byte, n)
	}
	c, err := s.load(src, id, n, r.b[:n])
	if err != nil {
		return nil, err
	}
	r.id, r.n, r.b = id, n, c
	return c, nil
}

// deltaBuf returns scratch of n bytes for nesting level depth (slot 0: the
// bases, slot 1: the patch), reused from one chunk to the next.
func (s *readState) deltaBuf(depth, slot int, n int64) []byte {
	i := 2*depth + slot
	if len(s.dbufs) <= i {
		s.dbufs = append(s.dbufs, make([][]byte, i+1-len(s.dbufs))...)
	}
	if int64(cap(s.dbufs[i])) < n {
		s.dbufs[i] = make([]byte, n)
	}
	return s.dbufs[i][:n]
}

// loadDelta rebuilds a chunk stored as delta d: its bases, where they
// overlap it, then the patch over them. The rebuilt chunk is always
// checked against id, whatever the cipher: a delta is only as good as its
// bases.
func (s *readState) loadDelta(src Source, id chunk.ID, n int64, d *chunk.Delta, out []byte, depth int) ([]byte, error) {
	if depth > chunk.MaxDeltaDepth {
		return nil, fmt.Errorf("%w: chunk %s: deltas nested too deep", chunk.ErrDamaged, id.Short())
	}
	out = out[:n]
	clear(out)
	for _, b := range d.Bases {
		var c []byte
		var err error
		if b.Delta == nil {
			c, err = s.baseOf(src, b.ID, b.Len)
		} else {
			c, err = s.loadDelta(src, b.ID, b.Len, b.Delta, s.deltaBuf(depth, 0, b.Len), depth+1)
		}
		if err != nil {
			return nil, fmt.Errorf("chunk %s, a delta: its base %s: %w", id.Short(), b.ID.Short(), err)
		}
		lo, hi := max(0, b.Off), min(n, b.Off+b.Len)
		copy(out[lo:hi], c[lo-b.Off:hi-b.Off])
	}
	p, err := s.load(src, d.Patch, d.PatchLen, s.deltaBuf(depth, 1, d.PatchLen))
	if err != nil {
		return nil, fmt.Errorf("chunk %s, a delta: its patch %s: %w", id.Short(), d.Patch.Short(), err)
	}
	if err := chunk.ApplyPatch(out, p); err != nil {
		return nil, fmt.Errorf("chunk %s, a delta: its patch %s: %w", id.Short(), d.Patch.Short(), err)
	}
	// The chunk's content is checked once, at the top: a wrong base or
	// patch below makes it wrong too.
	if depth == 1 && s.h.Sum(out) != id {
		return nil, fmt.Errorf("%w: chunk %s, rebuilt from its delta, does not match its id", chunk.ErrDamaged, id.Short())
	}
	return out, nil
}

// layout is a disk's runs in the parent archive with their offsets.
type layout struct {
	runs []chunk.Run
	offs []int64
}

func newLayout(runs []chunk.Run) *layout {
	l := &layout{runs: runs, offs: make([]int64, len(runs))}
	var off int64
	for i, r := range runs {
		l.offs[i] = off
		off += r.Len
	}
	return l
}

// at returns the index of the run that starts exactly at off.
func (l *layout) at(off int64) (int, bool) {
	k := sort.Search(len(l.offs), func(k int) bool { return l.offs[k] >= off })
	return k, k < len(l.offs) && l.offs[k] == off
}

// Writers try a delta only when it can pay.
const (
	// deltaMaxBases is the most parent chunks a writer rebuilds a changed
	// chunk from (a write that moved a cut point spans two or three).
	deltaMaxBases = 3
	// deltaMaxShare: a patch must carry at most 1/deltaMaxShare of the
	// chunk's bytes, or the chunk is stored whole.
	deltaMaxShare = 2
)

// deltaScratch is one sealer's memory for trying deltas.
type deltaScratch struct {
	p     *Pipeline
	rs    *readState
	old   []byte
	base  []byte
	patch []byte
	bases []chunk.Base
}

func (p *Pipeline) newDeltaScratch() *deltaScratch {
	r := &Reader{Codec: p.cfg.Codec, IDKey: p.cfg.IDKey}
	return &deltaScratch{p: p, rs: r.newState()}
}

// try returns the delta and the patch that store chunk b, at disk offset
// off, against the parent's bytes at the same place, or nil when the
// parent has no chunk there (or more than deltaMaxBases), the delta would
// nest DeltaRebaseDepth deep, a base cannot be read, or the patch would
// carry more than 1/deltaMaxShare of b. A chunk whose bytes did not change
// at all (a write elsewhere moved its cut points) gets an empty patch.
func (x *deltaScratch) try(lay *layout, off int64, b []byte) (*chunk.Delta, []byte) {
	end := off + int64(len(b))
	i := sort.Search(len(lay.offs), func(k int) bool { return lay.offs[k]+lay.runs[k].Len > off })
	if i >= len(lay.runs) {
		return nil, nil
	}
	k := i
	for k+1 < len(lay.runs) && lay.offs[k+1] < end {
		k++
	}
	bases := x.bases[:0]
	for j := i; j <= k; j++ {
		r := lay.runs[j]
		if r.Hole {
			continue
		}
		bs := chunk.Base{Off: lay.offs[j] - off, Len: r.Len, ID: r.ID, Delta: r.Delta}
		if r.Delta.Depth()+1 > chunk.DeltaRebaseDepth {
			// Rebase: patch the whole chunks under the parent's delta
			// (the patch then carries every change since them).
			bases = flatten(bases, bs, int64(len(b)))
		} else {
			bases = append(bases, bs)
		}
	}
	x.bases = bases
	if len(bases) == 0 || len(bases) > deltaMaxBases {
		return nil, nil
	}
	if cap(x.old) < len(b) {
		x.old = make([]byte, len(b))
	}
	old := x.old[:len(b)]
	clear(old)
	for _, bs := range bases {
		if int64(cap(x.base)) < bs.Len {
			x.base = make([]byte, bs.Len)
		}
		c, err := x.rs.loadRun(x.p.cfg.Bases, bs.ID, bs.Len, bs.Delta, x.base[:bs.Len])
		if err != nil {
			// A damaged or missing base: the chunk is stored whole
			// (verify reports the base).
			return nil, nil
		}
		lo, hi := max(0, bs.Off), min(int64(len(b)), bs.Off+bs.Len)
		copy(old[lo:hi], c[lo-bs.Off:hi-bs.Off])
	}
	patch, lit := chunk.MakePatch(x.patch[:0], old, b, int(off%chunk.PatchGranule))
	x.patch = patch
	if lit*deltaMaxShare > len(b) {
		return nil, nil
	}
	d := &chunk.Delta{Patch: x.rs.h.Sum(patch), PatchLen: int64(len(patch)), Bases: slices.Clone(bases)}
	return d, patch
}

// flatten appends to bases the whole chunks under base b (the chunks its
// deltas were built on, at their offsets in a chunk of n bytes) that
// overlap that chunk.
func flatten(bases []chunk.Base, b chunk.Base, n int64) []chunk.Base {
	if b.Off >= n || b.Off+b.Len <= 0 {
		return bases
	}
	if b.Delta == nil {
		return append(bases, b)
	}
	for _, u := range b.Delta.Bases {
		u.Off += b.Off
		bases = flatten(bases, u, n)
	}
	return bases
}

// ResolveDeltas completes the runs of a disk added to this pipeline once
// every disk is: a chunk that was stored as a delta by another disk (or
// another segment) of the session is referenced through that delta. The
// pipeline must be closed (no AddDisk running).
func (p *Pipeline) ResolveDeltas(runs []chunk.Run) {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	if len(p.deltas) == 0 {
		return
	}
	for i := range runs {
		r := &runs[i]
		if !r.Hole && r.Delta == nil {
			r.Delta = p.deltas[r.ID]
		}
	}
}

// LoadRun reads, authenticates and, for a chunk stored as a delta,
// rebuilds the content of chunk run x into out (capacity >= x.Len).
func (r *Reader) LoadRun(src Source, x chunk.Run, out []byte) ([]byte, error) {
	return r.newState().loadRun(src, x.ID, x.Len, x.Delta, out)
}
