package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/container"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// Refs, when set, is called once and calls mark for every chunk id an
	// archive references; each must have a usable copy in the store.
	Refs func(mark func(chunk.ID)) error
	// ReadData is the share (0 to 1) of the packs whose every blob is
	// read, authenticated, decompressed and its id recomputed, and whose
	// content is hashed against its name.
	ReadData float64
	// Codec decompresses blobs (needed when ReadData > 0).
	Codec *codec.Codec
	// IDKey is the chunk-id key (crypt.ChunkIDKey) for ReadData.
	IDKey [32]byte
	// Rand chooses the packs read (nil: a random choice).
	Rand *rand.Rand
	// Progress, when set, is called with the bytes of the packs checked
	// so far and the bytes of all packs.
	Progress func(done, total int64)
}

// CheckReport is what Check found. Problems and Missing are damage;
// Orphans and TempFiles are left-overs that Prune collects.
type CheckReport struct {
	Packs      int       `json:"packs"`
	IndexFiles int       `json:"index_files"`
	Chunks     int       `json:"chunks"`     // distinct chunk ids listed
	Refs       int       `json:"refs"`       // references checked (ids may repeat)
	PacksRead  int       `json:"packs_read"` // packs whose data was read
	BlobsRead  int       `json:"blobs_read"` // blobs opened
	BytesRead  int64     `json:"bytes_read"` // bytes of the packs read
	Missing    int       `json:"missing"`    // distinct referenced chunks without a usable copy
	Problems   []Problem `json:"problems"`   // damage and inconsistencies
	Orphans    []string  `json:"orphans"`    // packs no readable index file names
	TempFiles  []string  `json:"temp_files"` // staging files (writers in flight or dead)
	Truncated  int       `json:"truncated"`  // chunk problems left out of Problems
}

// OK reports whether Check found no damage (orphans and staging files
// are no damage).
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 && r.Missing == 0 }

// maxChunkProblems is the number of chunk problems of one object
// reported one by one; the rest are counted in Truncated and summed up in
// one problem.
const maxChunkProblems = 10

// unusable marks an entry without a usable copy behind it (its pack is
// missing or damaged, or the pack's own index disagrees).
const unusable = ^uint32(0)

// checker is one run of Check.
type checker struct {
	s       *Store
	o       CheckOptions
	rep     *CheckReport
	mu      sync.Mutex // rep.Problems, while refs run
	hasher  *chunk.IDHasher
	buf     []byte
	out     []byte
	scratch []byte
	done    int64
	total   int64
}

// Check checks the structure of the store (for verify --all and a
// periodic scrub): every index file readable and authentic, and named by
// the hash of its content; every pack an index file names present, its
// header, trailer and own index authentic, and every entry of the index
// file in the pack's own index with the same offset and lengths; the
// referenced chunks (Refs) present in a usable copy; and, for a share
// ReadData of the packs, every blob read and opened, the blobs tiling the
// blob area, and the content hashed against the pack's name. It lists the
// packs no index file names and the staging files left. It returns an
// error only when the store cannot be listed or read at all, or the key
// is wrong; damage is in the report.
//
// Memory: 56 bytes per index entry, plus the largest pack's own index and
// the buffers of one blob (16 MiB at most), whatever the data size.
func (s *Store) Check(ctx context.Context, o CheckOptions) (*CheckReport, error) {
	if o.ReadData > 0 && o.Codec == nil {
		return nil, errors.New("check: reading data needs a codec")
	}
	c := &checker{s: s, o: o, rep: &CheckReport{}}
	if o.ReadData > 0 {
		c.hasher = chunk.NewIDHasher(o.IDKey)
	}
	sc, err := s.scan(ctx)
	if err != nil {
		return nil, err
	}
	rep := c.rep
	rep.Problems = append(rep.Problems, sc.problems...)
	rep.IndexFiles = len(sc.files)
	for fi := range sc.files {
		if f := &sc.files[fi]; f.err == nil {
			c.checkName(ctx, f.name)
		}
	}
	var candidates []int
	for i := range sc.packs {
		sp := &sc.packs[i]
		if !sp.listed {
			continue
		}
		rep.Packs++
		c.total += sp.size
		if !sp.indexed {
			rep.Orphans = append(rep.Orphans, packName(sp.name))
		}
		if !sp.unreadable {
			candidates = append(candidates, i)
		}
	}
	read := c.choose(candidates)
	rows := sc.rows
	slices.SortFunc(rows, func(a, b chunk.IndexEntry) int {
		if c := cmp.Compare(a.Pack, b.Pack); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	c.progress()
	defer func() { c.buf, c.out, c.scratch = nil, nil, nil }()
	cursor := 0
	for i := range sc.packs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a := cursor
		for cursor < len(rows) && rows[cursor].Pack == uint32(i) {
			cursor++
		}
		if err := c.checkPack(ctx, sc, uint32(i), rows[a:cursor], read[i]); err != nil {
			return nil, err
		}
	}
	// Chunks and references, by id.
	slices.SortFunc(rows, func(a, b chunk.IndexEntry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	for i := range rows {
		if i == 0 || rows[i].ID != rows[i-1].ID {
			rep.Chunks++
		}
	}
	if o.Refs != nil {
		if err := c.refs(rows); err != nil {
			return nil, err
		}
	}
	tmp, err := stagedFiles(ctx, s.be, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range tmp {
		rep.TempFiles = append(rep.TempFiles, f.Name)
	}
	return rep, nil
}

// choose returns which packs to read: a share ReadData of candidates.
func (c *checker) choose(candidates []int) map[int]bool {
	read := map[int]bool{}
	if c.o.ReadData <= 0 || len(candidates) == 0 {
		return read
	}
	n := min(len(candidates), int(math.Ceil(c.o.ReadData*float64(len(candidates)))))
	perm := rand.Perm(len(candidates))
	if c.o.Rand != nil {
		perm = c.o.Rand.Perm(len(candidates))
	}
	for _, k := range perm[:n] {
		read[candidates[k]] = true
	}
	return read
}

func (c *checker) progress() {
	if c.o.Progress != nil {
		c.o.Progress(min(c.done, c.total), c.total)
	}
}

func (c *checker) problem(p Problem) {
	c.mu.Lock()
	c.rep.Problems = append(c.rep.Problems, p)
	c.mu.Unlock()
}

// checkName checks that object name (an index file) is named by the
// BLAKE3 of its content.
func (c *checker) checkName(ctx context.Context, name string) {
	want, err := chunk.ParseID(name[len("index/") : len(name)-len(".idx")])
	if err != nil {
		c.problem(Problem{Object: name, Problem: "not named by a content hash"})
		return
	}
	sum, _, err := c.hashObject(ctx, name, nil)
	if err != nil {
		c.problem(Problem{Object: name, Problem: err.Error()})
	} else if sum != want {
		c.problem(Problem{Object: name, Problem: "content does not match its name"})
	}
}

// hashObject reads object name from start to end, hashing it; visit,
// when set, gets the reader first and reads what it needs (the hash
// sees everything). It returns the hash and the object's size.
func (c *checker) hashObject(ctx context.Context, name string, visit func(br *bufio.Reader, size int64) error) (chunk.ID, int64, error) {
	o, err := c.s.be.Open(ctx, name)
	if err != nil {
		return chunk.ID{}, 0, err
	}
	defer o.Close()
	h := blake3.New()
	br := bufio.NewReaderSize(io.TeeReader(io.NewSectionReader(o, 0, o.Size()), h), 1<<20)
	if visit != nil {
		if err := visit(br, o.Size()); err != nil {
			return chunk.ID{}, 0, err
		}
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return chunk.ID{}, 0, fmt.Errorf("read %s: %w", c.s.where(name), err)
	}
	var sum chunk.ID
	h.Sum(sum[:0])
	return sum, o.Size(), nil
}

// chunkProblems collects the chunk problems of one object, the first
// maxChunkProblems one by one.
type chunkProblems struct {
	c      *checker
	object string
	n      int
}

func (cp *chunkProblems) add(id chunk.ID, what string) {
	cp.n++
	if cp.n <= maxChunkProblems {
		cp.c.problem(Problem{Object: cp.object, Chunk: id.String(), Problem: what})
	}
}

func (cp *chunkProblems) close() {
	if more := cp.n - maxChunkProblems; more > 0 {
		cp.c.rep.Truncated += more
		cp.c.problem(Problem{Object: cp.object, Problem: fmt.Sprintf("%d more chunk problems not listed", more)})
	}
}

// checkPack checks pack num against rows, the entries index files list
// for it (sorted by id; for a pack no index file names, its own), and
// reads its data when read is set. Rows without a usable copy are marked
// unusable.
func (c *checker) checkPack(ctx context.Context, sc *storeScan, num uint32, rows []chunk.IndexEntry, read bool) error {
	sp := &sc.packs[num]
	name := packName(sp.name)
	defer func() {
		c.done += sp.size
		c.progress()
	}()
	bad := func() {
		for i := range rows {
			rows[i].Pack = unusable
		}
	}
	if !sp.listed || sp.unreadable {
		bad() // reported by the scan
		return nil
	}
	r, err := c.s.OpenPack(sp.name)
	if err != nil {
		c.problem(Problem{Object: name, Problem: err.Error()})
		bad()
		return nil
	}
	defer r.Close()
	b, err := r.Section("index")
	var own []chunk.IndexEntry
	if err == nil {
		_, own, err = chunk.ParseIndex(b, true)
	}
	if err != nil {
		c.problem(Problem{Object: name, Problem: err.Error()})
		bad()
		return nil
	}
	cp := &chunkProblems{c: c, object: name}
	defer cp.close()
	if sp.indexed {
		by := sc.files[sp.namedBy].name
		t := 0
		for i := range rows {
			e := &rows[i]
			for t < len(own) && bytes.Compare(own[t].ID[:], e.ID[:]) < 0 {
				t++
			}
			switch {
			case t == len(own) || own[t].ID != e.ID:
				cp.add(e.ID, "listed by "+by+" but not in the pack's own index")
				e.Pack = unusable
			case own[t].Off != e.Off || own[t].CLen != e.CLen || own[t].PLen != e.PLen:
				cp.add(e.ID, fmt.Sprintf("listed by %s at %d+%d (%d bytes), but in the pack at %d+%d (%d bytes)", by, e.Off, e.CLen, e.PLen, own[t].Off, own[t].CLen, own[t].PLen))
				e.Pack = unusable
			}
		}
	}
	if !read {
		return nil
	}
	damaged, err := c.readPack(ctx, sp, r, own, cp)
	if err != nil {
		return err
	}
	for i := range rows {
		if damaged[rows[i].ID] {
			rows[i].Pack = unusable
		}
	}
	return nil
}

// readPack reads pack sp from start to end: every blob its own index own
// lists opened, the blobs tiling the blob area, the content hashed
// against the name. It returns the ids of the damaged blobs. An error is
// returned only when ctx ends.
func (c *checker) readPack(ctx context.Context, sp *scanPack, r *container.FileReader, own []chunk.IndexEntry, cp *chunkProblems) (map[chunk.ID]bool, error) {
	name := packName(sp.name)
	damaged := map[chunk.ID]bool{}
	byOff := chunk.SortByOffset(own)
	hdrEnd, blobEnd := r.BlobArea()
	sealer := r.Sealer()
	base := c.done
	visit := func(br *bufio.Reader, size int64) error {
		pos := int64(0)
		skip := func(n int64) error {
			m, err := io.CopyN(io.Discard, br, n)
			pos += m
			return err
		}
		if err := skip(hdrEnd); err != nil {
			return err
		}
		for _, e := range byOff {
			if err := ctx.Err(); err != nil {
				return err
			}
			off, end := int64(e.Off), int64(e.Off)+int64(e.CLen)
			switch {
			case off < pos || end > blobEnd:
				cp.add(e.ID, fmt.Sprintf("blob at %d+%d overlaps another or leaves the blob area", e.Off, e.CLen))
				damaged[e.ID] = true
				continue
			case off > pos:
				c.problem(Problem{Object: name, Problem: fmt.Sprintf("bytes %d to %d are in no blob", pos, off)})
				if err := skip(off - pos); err != nil {
					return err
				}
			}
			if cap(c.buf) < int(e.CLen) {
				c.buf = make([]byte, e.CLen)
			}
			blob := c.buf[:e.CLen]
			m, err := io.ReadFull(br, blob)
			pos += int64(m)
			if err != nil {
				return err
			}
			if cap(c.out) < int(e.PLen) {
				c.out = make([]byte, 0, e.PLen)
			}
			_, c.scratch, err = container.OpenBlob(c.o.Codec, sealer, c.hasher, e.ID, blob, int(e.PLen), c.scratch, c.out[:0])
			c.rep.BlobsRead++
			if err != nil {
				cp.add(e.ID, err.Error())
				damaged[e.ID] = true
			}
			c.done = base + pos
			c.progress()
		}
		if pos < blobEnd {
			c.problem(Problem{Object: name, Problem: fmt.Sprintf("bytes %d to %d are in no blob", pos, blobEnd)})
		}
		return nil
	}
	sum, size, err := c.hashObject(ctx, name, visit)
	c.done = base // checkPack adds the pack's size
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.rep.PacksRead++
	if err != nil {
		c.problem(Problem{Object: name, Problem: "reading: " + err.Error()})
		for _, e := range own {
			damaged[e.ID] = true
		}
		return damaged, nil
	}
	c.rep.BytesRead += size
	if sum != sp.name {
		c.problem(Problem{Object: name, Problem: "content does not match its name"})
	}
	return damaged, nil
}

// maxMissingListed is the number of missing referenced chunks listed in
// Problems one by one.
const maxMissingListed = 100

// refs checks the references against rows (sorted by id).
func (c *checker) refs(rows []chunk.IndexEntry) error {
	var miss missingSet
	var n atomic.Int64
	err := c.o.Refs(func(id chunk.ID) {
		n.Add(1)
		i := chunk.SearchEntries(rows, id)
		listed := false
		for ; i < len(rows) && rows[i].ID == id; i++ {
			if rows[i].Pack != unusable {
				return
			}
			listed = true
		}
		if isNew, count := miss.add(id); !isNew || count > maxMissingListed {
			return
		}
		what := "referenced, but in no index and no pack"
		if listed {
			what = "referenced, but every copy is in a missing or damaged pack"
		}
		c.problem(Problem{Object: "references", Chunk: id.String(), Problem: what})
	})
	if err != nil {
		return fmt.Errorf("check: references: %w", err)
	}
	c.rep.Refs = int(n.Load())
	c.rep.Missing = miss.count
	if more := miss.count - maxMissingListed; more > 0 {
		c.rep.Truncated += more
		c.problem(Problem{Object: "references", Problem: fmt.Sprintf("%d more missing referenced chunks not listed", more)})
	}
	return nil
}
