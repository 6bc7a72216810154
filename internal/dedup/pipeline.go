package dedup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
)

// Target receives the chunks of a backup session.
type Target interface {
	// Claim reports whether the caller must store id: it is neither in the
	// base (chain or store) nor claimed earlier in this session. Safe for
	// concurrent use.
	Claim(id chunk.ID) bool
	// Put stores one sealed blob. Safe for concurrent use.
	Put(id chunk.ID, blob []byte, plen int) error
	// Sealer seals the blobs of this session.
	Sealer() *crypt.Sealer
}

// Stats count what a session did. Fields are updated atomically.
type Stats struct {
	Read      atomic.Int64 // logical bytes read
	Zero      atomic.Int64 // bytes recorded as holes
	New       atomic.Int64 // plaintext bytes of chunks stored
	Stored    atomic.Int64 // sealed bytes of chunks stored
	Chunks    atomic.Int64 // chunk references
	NewChunks atomic.Int64 // chunks stored
}

// Config tunes a Pipeline.
type Config struct {
	Chunker     *chunker.Chunker
	IDKey       [32]byte
	Codec       *codec.Codec
	Parallelism int   // workers; >= 1
	SegmentSize int64 // forced boundary every SegmentSize bytes; 0 = 64 MiB
	BlockSize   int   // read size; 0 = 4 MiB
	// Bases, when set, lets a disk added with its parent's runs
	// (AddDiskFrom) store a changed chunk as a delta of the chunks that
	// covered the same disk bytes in the parent (chunk.Delta), read from
	// Bases, when that stores much less than the whole chunk.
	Bases Source
	// Deltas are the chunks stored as deltas in the parent archive, by
	// content id: a chunk with one of these ids is referenced the same
	// way (its content is stored nowhere whole).
	Deltas map[chunk.ID]*chunk.Delta
}

// Defaults of Config.
const (
	DefaultSegment = 64 << 20
	DefaultBlock   = 4 << 20
)

// Pipeline chunks disks on a fixed set of workers: each disk is cut into
// segments with a forced chunk boundary at each; a worker reads its segment
// block by block (reading ahead while it processes the current block),
// detects zero blocks, cuts chunks, hashes them and hands the new ones to
// a second set of workers that compress and seal them. Compression is most
// of the work, so it is spread over all cores even when one segment is
// left (the end of a disk) or segments differ in cost. Once every new
// chunk of a block is sealed, the worker stores the block's blobs in disk
// order, so a stretch of disk is a stretch of the archive and a restore
// reads it in one piece.
// Memory: per worker segBufs read buffers of BlockSize+ChunkMax+chunker.HoleMin
// bytes and as many arenas for their sealed blobs, per sealer scratch of
// ChunkMax, independent of disk size. Close it when done.
type Pipeline struct {
	cfg    Config
	target Target
	Stats  Stats
	jobs   chan *job
	seals  chan sealTask
	wg     sync.WaitGroup
	swg    sync.WaitGroup
	pmu    sync.Mutex // serializes progress callbacks
	dmu    sync.Mutex
	deltas map[chunk.ID]*chunk.Delta // chunks this session stored as deltas
}

// segBufs is the number of read buffers per worker: one being read, one
// being chunked, one whose chunks are still being sealed.
const segBufs = 3

// sealTask is one new chunk to compress and seal into its slot. b points
// into a worker's read buffer, which is not reused before done is called.
type sealTask struct {
	id   chunk.ID
	b    []byte
	off  int64 // disk offset of b
	out  *slot
	j    *job
	done func()
}

// slot is one new chunk of a block: its blob is sealed into the place
// reserved for it in the block's arena (capacity for the worst case, a raw
// chunk) and stored by the worker once the whole block is sealed.
type slot struct {
	id   chunk.ID // the chunk stored: the content, or its patch
	plen int
	blob []byte
	// A chunk stored as a delta: content is its id, run its run's index
	// in the segment, delta how it is rebuilt; skip: the patch is stored
	// already.
	delta   *chunk.Delta
	content chunk.ID
	run     int
	skip    bool
}

// blockOut holds the new chunks of one read buffer's block, in disk order.
type blockOut struct {
	arena []byte
	used  int
	slots []*slot
}

// reset empties o for the next block.
func (o *blockOut) reset() {
	clear(o.slots)
	o.slots, o.used = o.slots[:0], 0
}

type job struct {
	ctx    context.Context
	src    io.ReaderAt
	parent *layout // the disk's runs in the parent archive, or nil
	off, n int64
	runs   []chunk.Run
	err    error
	done   func(n int64)
}

// NewPipeline starts the workers.
func NewPipeline(cfg Config, t Target) (*Pipeline, error) {
	if cfg.Chunker == nil || cfg.Codec == nil || t == nil {
		return nil, errors.New("pipeline: missing chunker, codec or target")
	}
	if cfg.Parallelism < 1 {
		cfg.Parallelism = 1
	}
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = DefaultSegment
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultBlock
	}
	if cfg.SegmentSize%chunker.ZeroBlock != 0 || cfg.BlockSize%chunker.ZeroBlock != 0 {
		return nil, fmt.Errorf("pipeline: segment and block sizes must be multiples of %d", chunker.ZeroBlock)
	}
	p := &Pipeline{cfg: cfg, target: t, jobs: make(chan *job), seals: make(chan sealTask, 256), deltas: map[chunk.ID]*chunk.Delta{}}
	for range cfg.Parallelism {
		s := p.newSealer()
		p.swg.Add(1)
		go func() {
			defer p.swg.Done()
			for t := range p.seals {
				if t.j.ctx.Err() == nil {
					s.seal(t)
				}
				t.done()
			}
		}()
	}
	for range cfg.Parallelism {
		w := p.newWorker()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer w.freeBuffers()
			for j := range p.jobs {
				j.runs, j.err = w.segment(j)
				j.done(j.n)
			}
		}()
	}
	return p, nil
}

// Close stops the workers. No AddDisk may be running.
func (p *Pipeline) Close() {
	close(p.jobs)
	p.wg.Wait()
	close(p.seals)
	p.swg.Wait()
}

// AddDisk chunks one disk of size bytes read from src and returns its runs
// (adjacent holes merged). progress, if not nil, is called after each
// segment with the session's total bytes read; calls are serialized. Safe
// for concurrent calls (they share the workers).
func (p *Pipeline) AddDisk(ctx context.Context, src io.ReaderAt, size int64, progress func(int64)) ([]chunk.Run, error) {
	return p.AddDiskFrom(ctx, src, size, nil, progress)
}

// AddDiskFrom is AddDisk for a disk whose runs in the parent archive are
// parent (nil: none): with Config.Bases set, a new chunk that differs from
// the parent's bytes at the same place in a few sectors is stored as a
// delta. The runs returned may still name, without a delta, a chunk that
// another disk of the session stored as one: ResolveDeltas completes them
// once every disk is added.
func (p *Pipeline) AddDiskFrom(ctx context.Context, src io.ReaderAt, size int64, parent []chunk.Run, progress func(int64)) ([]chunk.Run, error) {
	if size < 0 {
		return nil, errors.New("negative disk size")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lay *layout
	if parent != nil {
		lay = newLayout(parent)
	}
	seg := p.cfg.SegmentSize
	nseg := (size + seg - 1) / seg
	jobs := make([]*job, nseg)
	var wg sync.WaitGroup
	var failed atomic.Bool
	done := func(n int64) {
		total := p.Stats.Read.Add(n)
		if progress != nil {
			p.pmu.Lock()
			progress(total)
			p.pmu.Unlock()
		}
		wg.Done()
	}
	for i := range jobs {
		off := int64(i) * seg
		j := &job{ctx: ctx, src: src, parent: lay, off: off, n: min(seg, size-off)}
		j.done = func(n int64) {
			if j.err != nil {
				failed.Store(true)
				cancel()
			}
			done(n)
		}
		jobs[i] = j
	}
	var sendErr error
	for _, j := range jobs {
		if failed.Load() {
			break
		}
		wg.Add(1)
		select {
		case p.jobs <- j:
		case <-ctx.Done():
			wg.Done()
			sendErr = ctx.Err()
		}
		if sendErr != nil {
			break
		}
	}
	wg.Wait()
	// The first error, preferring a cause to the cancellations it caused
	// in the other segments.
	var jobErr error
	for _, j := range jobs {
		if j.err != nil && (jobErr == nil || errors.Is(jobErr, context.Canceled) && !errors.Is(j.err, context.Canceled)) {
			jobErr = j.err
		}
	}
	if jobErr != nil {
		return nil, jobErr
	}
	if sendErr != nil {
		return nil, sendErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var runs []chunk.Run
	for _, j := range jobs {
		for _, r := range j.runs {
			if r.Hole && len(runs) > 0 && runs[len(runs)-1].Hole {
				runs[len(runs)-1].Len += r.Len
				continue
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

type worker struct {
	p       *Pipeline
	bufs    [segBufs][]byte
	outs    [segBufs]blockOut       // new chunks of bufs[i], stored by drain
	busy    [segBufs]sync.WaitGroup // chunks of bufs[i] being sealed
	cur     int                     // the buffer being chunked
	j       *job
	reserve int
	zero    *chunker.ZeroChecker
	holes   [segBufs][]chunker.Span // hole ranges of bufs[i]'s block, from the probe
	hasher  *chunk.IDHasher
	st      *segState // the segment's state, for drain
}

func (p *Pipeline) newWorker() *worker {
	reserve := p.cfg.Chunker.Max() + chunker.HoleMin
	w := &worker{p: p, reserve: reserve, zero: chunker.NewZeroChecker(), hasher: chunk.NewIDHasher(p.cfg.IDKey)}
	for i := range w.bufs {
		w.bufs[i] = readBuffer(reserve + p.cfg.BlockSize)
		w.outs[i].arena = make([]byte, reserve+p.cfg.BlockSize+arenaSlack)
	}
	return w
}

// arenaSlack is room in a block's arena for the per-blob overhead (flag,
// nonce, tag: about 30 bytes) of a block's chunks; a block with more small
// chunks than that covers gets its extra blobs allocated one by one.
const arenaSlack = 64 << 10

// reserveBlob returns room for the blob of a chunk of plen bytes in the
// current block's arena.
func (w *worker) reserveBlob(plen int) []byte {
	o := &w.outs[w.cur]
	need := 1 + plen + w.p.target.Sealer().Overhead()
	if o.used+need > len(o.arena) {
		return make([]byte, 0, need)
	}
	b := o.arena[o.used : o.used : o.used+need]
	o.used += need
	return b
}

// drain waits until the chunks of buffer i are sealed and stores their
// blobs in order. After an error the blobs are dropped.
func (w *worker) drain(i int) error {
	w.busy[i].Wait()
	o := &w.outs[i]
	defer o.reset()
	if err := w.j.ctx.Err(); err != nil {
		return err
	}
	p := w.p
	for _, sl := range o.slots {
		if sl.delta != nil {
			w.st.runs[sl.run].Delta = sl.delta
			p.dmu.Lock()
			p.deltas[sl.content] = sl.delta
			p.dmu.Unlock()
			if sl.skip {
				continue
			}
		}
		if err := p.target.Put(sl.id, sl.blob, sl.plen); err != nil {
			return err
		}
		p.Stats.New.Add(int64(sl.plen))
		p.Stats.Stored.Add(int64(len(sl.blob)))
		p.Stats.NewChunks.Add(1)
	}
	return nil
}

// sealer is the scratch of one sealing worker.
type sealer struct {
	p     *Pipeline
	plain []byte
	delta *deltaScratch // nil without Config.Bases
}

func (p *Pipeline) newSealer() *sealer {
	max := p.cfg.Chunker.Max()
	s := &sealer{p: p, plain: make([]byte, 0, max+max/8+1024)}
	if p.cfg.Bases != nil {
		s.delta = p.newDeltaScratch()
	}
	return s
}

// seal compresses and seals one chunk into its slot: as a delta of its
// parent's bytes when that pays, else whole.
func (s *sealer) seal(t sealTask) {
	p, out := s.p, t.out
	if t.j.parent != nil && s.delta != nil {
		if d, patch := s.delta.try(t.j.parent, t.off, t.b); d != nil {
			out.delta, out.content, out.id, out.plen = d, t.id, d.Patch, len(patch)
			if !p.target.Claim(d.Patch) {
				out.skip = true
				return
			}
			out.blob, s.plain = container.SealBlob(p.cfg.Codec, p.target.Sealer(), d.Patch, patch, s.plain, out.blob)
			return
		}
	}
	out.blob, s.plain = container.SealBlob(p.cfg.Codec, p.target.Sealer(), t.id, t.b, s.plain, out.blob)
}

type readResult struct {
	n   int
	err error
	// holes are the ranges of the block (offsets from its start,
	// ascending) that are holes of the file: cleared, not read.
	holes []chunker.Span
}

// segState is the chunking state carried from one window to the next.
type segState struct {
	runs    []chunk.Run
	holeLen int64 // > 0: inside a hole not yet emitted
	off     int64 // disk offset of the next run
}

// segment processes one segment and returns its runs. It returns only when
// no sealer uses its buffers any more.
func (w *worker) segment(j *job) ([]chunk.Run, error) {
	w.j = j
	defer func() {
		w.st = nil
		for i := range w.busy {
			w.busy[i].Wait()
			w.outs[i].reset()
		}
		w.j = nil
	}()
	return w.segmentRuns(j)
}

func (w *worker) segmentRuns(j *job) ([]chunk.Run, error) {
	if err := j.ctx.Err(); err != nil {
		return nil, err
	}
	R, B := w.reserve, w.p.cfg.BlockSize
	pos, end := j.off, j.off+j.n
	ch := make(chan readResult, 1)
	probe := chunker.NewHoleProbe(j.src)
	if probe != nil {
		// scan reads no more of a reported hole than its edges.
		probe.ClearEdgesOnly()
	}
	read := func(i int, off int64, n int) {
		buf := w.bufs[i]
		go func() {
			if probe != nil {
				holes, err := probe.Read(j.src, buf[R:R+n], off, w.holes[i])
				w.holes[i] = holes
				ch <- readResult{n: n, err: err, holes: holes}
				return
			}
			m, err := j.src.ReadAt(buf[R:R+n], off)
			if m == n {
				err = nil
			}
			ch <- readResult{n: m, err: err}
		}()
	}
	st := &segState{off: j.off}
	w.st = st
	cur := 0
	var pending int // outstanding read length, 0 = none
	if pos < end {
		pending = int(min(int64(B), end-pos))
		read(cur, pos, pending)
	}
	carry := 0    // bytes carried in front of the block in the current buffer
	zrun := -1    // start of a pending short zero run within the window, -1 none
	var err error // first error
	for pending > 0 {
		res := <-ch
		n := pending
		pending = 0
		if res.err != nil {
			if res.err == io.EOF {
				return nil, fmt.Errorf("read at %d: the disk ended early (got %d of %d bytes): %w", pos, res.n, n, io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("read at %d: %w", pos, res.err)
		}
		w.cur = cur
		buf := w.bufs[cur]
		win := buf[R-carry : R+n]
		pos += int64(n)
		// Start reading the next block into the next buffer, once its
		// chunks are sealed.
		next := (cur + 1) % segBufs
		if pos < end && j.ctx.Err() == nil {
			if err := w.drain(next); err != nil {
				return nil, err
			}
			pending = int(min(int64(B), end-pos))
			read(next, pos, pending)
		}
		var dataStart int
		dataStart, zrun, err = w.scan(st, win, carry, zrun, pos == end, res.holes)
		if err == nil {
			err = j.ctx.Err()
		}
		if err != nil {
			if pending > 0 {
				<-ch
			}
			return nil, err
		}
		// Carry the unfinished data region into the next buffer.
		carry = len(win) - dataStart
		if carry > R {
			panic("dedup: carry exceeds reserve")
		}
		if zrun >= 0 {
			zrun -= dataStart
		}
		if pending > 0 {
			copy(w.bufs[next][R-carry:R], win[dataStart:])
		}
		cur = next
	}
	if st.holeLen > 0 {
		w.endHole(st)
	}
	// Store the blocks still held, oldest first: buffers are used in
	// turn, and cur is the one after the last block.
	for k := range segBufs {
		if err := w.drain((cur + k) % segBufs); err != nil {
			return nil, err
		}
	}
	return st.runs, nil
}

// scan classifies the blocks of win from index s on, emitting chunks and
// holes. Bytes before s were classified earlier (carried). It returns the
// start of the unfinished data region and the pending zero run start. When
// last, everything is flushed. holes are ranges of win[s:] known to be
// zeros (offsets from s, ascending): their blocks are not compared.
func (w *worker) scan(st *segState, win []byte, s, zrun int, last bool, holes []chunker.Span) (int, int, error) {
	c := w.p.cfg.Chunker
	max := c.Max()
	dataStart := 0
	base := s // holes are relative to base
	allZero := len(holes) == 1 && holes[0].Start == 0 && base+holes[0].End == len(win)
	for s < len(win) {
		bs := min(chunker.ZeroBlock, len(win)-s)
		if allZero {
			// The same transitions as block by block, in one step.
			bs = len(win) - s
		}
		for len(holes) > 0 && base+holes[0].End <= s {
			holes = holes[1:]
		}
		known := len(holes) > 0 && base+holes[0].Start <= s && s+bs <= base+holes[0].End
		if known || w.zero.IsZero(win[s:s+bs]) {
			if st.holeLen > 0 {
				st.holeLen += int64(bs)
				s += bs
				dataStart = s
				continue
			}
			if zrun < 0 {
				zrun = s
			}
			s += bs
			if s-zrun >= chunker.HoleMin {
				if err := w.flush(st, win[dataStart:zrun]); err != nil {
					return 0, 0, err
				}
				st.holeLen = int64(s - zrun)
				zrun = -1
				dataStart = s
			}
			continue
		}
		if st.holeLen > 0 {
			w.endHole(st)
		}
		zrun = -1
		s += bs
		for s-dataStart >= max {
			n, id, known := w.cut(st, win[dataStart:s])
			if err := w.chunkID(st, win[dataStart:dataStart+n], id, known); err != nil {
				return 0, 0, err
			}
			dataStart += n
		}
	}
	if last {
		if st.holeLen == 0 {
			if err := w.flush(st, win[dataStart:]); err != nil {
				return 0, 0, err
			}
		}
		return len(win), -1, nil
	}
	return dataStart, zrun, nil
}

// endHole emits the pending hole.
func (w *worker) endHole(st *segState) {
	st.runs = append(st.runs, chunk.Run{Len: st.holeLen, Hole: true})
	st.off += st.holeLen
	w.p.Stats.Zero.Add(st.holeLen)
	st.holeLen = 0
}

// flush cuts a complete data region into chunks.
func (w *worker) flush(st *segState, region []byte) error {
	for len(region) > 0 {
		n, id, known := w.cut(st, region)
		if err := w.chunkID(st, region[:n], id, known); err != nil {
			return err
		}
		region = region[n:]
	}
	return nil
}

// chunk hashes one chunk and hands it to the sealers when new.
// cut returns the length of the next chunk of region (whose start is at
// st.off): the parent's chunk at the same place when region begins with
// exactly its bytes (id is then its id, known true: unchanged data costs a
// hash, not the chunker), else the content-defined cut.
func (w *worker) cut(st *segState, region []byte) (n int, id chunk.ID, known bool) {
	hashed := 0
	if lay := w.j.parent; lay != nil {
		if k, ok := lay.at(st.off); ok {
			r := lay.runs[k]
			if !r.Hole && r.Len <= int64(len(region)) {
				id, hashed = w.hasher.Sum(region[:r.Len]), int(r.Len)
				if id == r.ID {
					return hashed, id, true
				}
			}
		}
	}
	n = w.p.cfg.Chunker.Cut(region)
	// A changed chunk that kept its length needs no second hash.
	return n, id, n == hashed
}

// chunkID is chunk with the id already computed when known.
func (w *worker) chunkID(st *segState, b []byte, id chunk.ID, known bool) error {
	if !known {
		id = w.hasher.Sum(b)
	}
	p := w.p
	p.Stats.Chunks.Add(1)
	off := st.off
	st.off += int64(len(b))
	if d := p.cfg.Deltas[id]; d != nil {
		// Stored as a delta in the parent: referenced the same way.
		st.runs = append(st.runs, chunk.Run{Len: int64(len(b)), ID: id, Delta: d})
		return nil
	}
	st.runs = append(st.runs, chunk.Run{Len: int64(len(b)), ID: id})
	if !p.target.Claim(id) {
		return nil
	}
	out := &slot{id: id, plen: len(b), blob: w.reserveBlob(len(b)), run: len(st.runs) - 1}
	o := &w.outs[w.cur]
	o.slots = append(o.slots, out)
	busy := &w.busy[w.cur]
	busy.Add(1)
	p.seals <- sealTask{id: id, b: b, off: off, out: out, j: w.j, done: busy.Done}
	return nil
}
