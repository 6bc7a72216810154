package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/store"
)

// Copy modes (CopyReport.Mode).
const (
	// CopyChunks: both stores use the same master key (so the same chunk
	// ids and cut points): the chunks the target lacks are moved by id,
	// each blob opened with its source pack's data key and sealed with
	// the target session's, without decompressing it.
	CopyChunks = "chunks"
	// CopyRechunk: the keys differ: every disk is read through the
	// restore path and written as new data (chunked, named and sealed
	// with the target's key).
	CopyRechunk = "rechunk"
)

// CopyOptions select what Copy copies.
type CopyOptions struct {
	// Archives are archive ids of the source store; VMs VM names or ids
	// whose archives are copied. Both empty: every archive. The chain
	// parents of a selected archive are copied too (parents first).
	Archives []string
	VMs      []string
	// Hook, when set, is called after each object put into the target
	// store ("put packs/...", "put index/...", "put archives/...").
	// Tests use it to kill a copy at every step.
	Hook func(event string)
	// Log, when set, gets a line per archive.
	Log func(format string, args ...any)
}

// CopyReport is what Copy did.
type CopyReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	Mode string `json:"mode"` // CopyChunks or CopyRechunk
	// Archives: every archive considered, parents first.
	Archives        []CopiedArchive `json:"archives"`
	ArchivesCopied  int             `json:"archives_copied"`
	ArchivesSkipped int             `json:"archives_skipped"`
	// ChunksSent and ChunkBytes: chunks stored at the target by this run
	// (their plaintext bytes); BytesSent: bytes of every object put there
	// (packs, index files, archive copies).
	ChunksSent int64   `json:"chunks_sent"`
	ChunkBytes int64   `json:"chunk_bytes"`
	BytesSent  int64   `json:"bytes_sent"`
	Seconds    float64 `json:"seconds"`
	// MissingParents are chain parents the source no longer holds (a
	// store-mode archive lists every chunk of its disks, so the archives
	// that name them are still complete).
	MissingParents []string `json:"missing_parents"`
}

// CopiedArchive is one archive of a copy.
type CopiedArchive struct {
	ID         string `json:"id"`
	VMName     string `json:"vm_name"`
	Type       Type   `json:"type"`
	Status     string `json:"status"` // "copied" | "skipped" (the target has it)
	ChunksSent int64  `json:"chunks_sent"`
	BytesSent  int64  `json:"bytes_sent"`
}

// Copy copies archives of the dedup store of src into the dedup store of
// r (creating it when it does not exist, with r's key), sending only the
// chunks the target lacks (docs/storage.md, "copy"). Both repositories
// must be in store mode. Each archive is published at the target (its
// archive object put last, if absent) only after every chunk it
// references is durable there; an interrupted copy leaves packs that the
// next run finds and does not send again, and garbage prune removes.
func (r *Repo) Copy(ctx context.Context, src *Repo, o CopyOptions) (*CopyReport, error) {
	t0 := time.Now()
	if src.opts.Store == "" || r.opts.Store == "" {
		return nil, fmt.Errorf("%w: copy needs a dedup store on both sides (--from and --to)", ErrBadRequest)
	}
	if err := r.needWriteKey(); err != nil {
		return nil, err
	}
	from, err := src.storeAt(false)
	if errors.Is(err, ErrWrongKey) {
		return nil, fmt.Errorf("copy: source (--from): %w (give the source store's key with --from-key-file)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("copy: source (--from): %w", err)
	}
	to, err := r.storeAt(true)
	if errors.Is(err, ErrWrongKey) {
		return nil, fmt.Errorf("copy: target (--to): %w (the target store was created with another master key: give that key with --to-key-file)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("copy: target (--to): %w", err)
	}
	if o.Hook != nil {
		to = to.WithBackend(putHook{Backend: to.Backend(), hook: o.Hook})
	}
	rep := &CopyReport{From: src.opts.Store, To: r.opts.Store, Mode: CopyRechunk, Archives: []CopiedArchive{}, MissingParents: []string{}}
	var srcMaster []byte
	if from.Keyed {
		srcMaster = src.master
	}
	if crypt.ChunkIDKey(srcMaster) == r.writeID {
		rep.Mode = CopyChunks
	}

	// Shared locks on both stores, as a backup takes them: no prune can
	// remove a source chunk being read, or a target chunk this copy
	// relies on, until the archives that reference them are published.
	lk := &held{}
	defer lk.Release()
	if err := src.lockStoreShared(ctx, lk, from); err != nil {
		return nil, err
	}
	if err := r.lockStoreShared(ctx, lk, to); err != nil {
		return nil, err
	}

	infos, err := storeInfos(ctx, src, from)
	if err != nil {
		return nil, err
	}
	order, missing, err := copyOrder(infos, o.Archives, o.VMs)
	if err != nil {
		return nil, err
	}
	rep.MissingParents = append(rep.MissingParents, missing...)
	present, err := to.Archives(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, id := range present {
		have[id] = true
	}
	byID := map[string]Info{}
	for _, in := range infos {
		byID[in.ID] = in
	}
	var todo []string
	for _, id := range order {
		in := byID[id]
		if have[id] {
			rep.Archives = append(rep.Archives, CopiedArchive{ID: id, VMName: in.VMName, Type: in.Type, Status: "skipped"})
			rep.ArchivesSkipped++
			continue
		}
		todo = append(todo, id)
	}
	if len(todo) == 0 {
		rep.Seconds = time.Since(t0).Seconds()
		return rep, nil
	}

	// What the target holds: its index, and the packs no index lists
	// (an interrupted copy's), whose chunks are durable all the same.
	ti, err := to.LoadIndex()
	if err != nil {
		return nil, fmt.Errorf("copy: target (--to): %w", err)
	}
	stray, err := to.Stray(ctx, ti)
	if err != nil {
		return nil, fmt.Errorf("copy: target (--to): %w", err)
	}
	si, err := from.LoadIndex()
	if err != nil {
		return nil, fmt.Errorf("copy: source (--from): %w", err)
	}
	ss := dedup.StoreSource(from, si)
	defer ss.Close()
	c := &copier{r: r, src: src, from: from, to: to, ti: ti, stray: stray, ss: ss,
		sent: map[chunk.ID]bool{}, adopted: map[uint32]bool{}}
	for _, id := range todo {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		ca, err := c.archive(ctx, id, rep.Mode)
		if err != nil {
			return rep, fmt.Errorf("copy archive %s: %w", id, err)
		}
		rep.Archives = append(rep.Archives, *ca)
		rep.ArchivesCopied++
		rep.ChunksSent += ca.ChunksSent
		rep.BytesSent += ca.BytesSent
		if o.Log != nil {
			o.Log("copy %s: archive %s copied (%d chunks, %d bytes sent)", rep.To, id, ca.ChunksSent, ca.BytesSent)
		}
	}
	rep.ChunkBytes = c.chunkBytes
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

// lockStoreShared takes st's gc lock shared, through its gate, as a
// backup does (locks.go).
func (r *Repo) lockStoreShared(ctx context.Context, h *held, st *store.Store) error {
	gate := &held{}
	defer gate.Release()
	if err := r.storeLock(ctx, gate, st, "gate", store.Shared); err != nil {
		return err
	}
	return r.storeLock(ctx, h, st, "gc", store.Shared)
}

// storeInfos describes every archive copy of store st (cleartext headers).
func storeInfos(ctx context.Context, r *Repo, st *store.Store) ([]Info, error) {
	ids, err := st.Archives(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.storeInfo(ctx, st, id))
	}
	sortInfos(out)
	return out, nil
}

func sortInfos(list []Info) {
	slices.SortFunc(list, func(a, b Info) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// copyOrder chooses the archives of list to copy: those named by ids,
// those of the VMs vms (names or ids), or all; plus the chain parents of
// each that list holds, every archive after its parents. It returns the
// parents list lacks (nothing to copy for them) separately. A name that
// selects nothing is an error wrapping ErrBadRequest.
func copyOrder(list []Info, ids, vms []string) (order, missing []string, err error) {
	byID := map[string]*Info{}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	var sel []string
	for _, id := range ids {
		in, ok := byID[id]
		if !ok {
			return nil, nil, fmt.Errorf("%w: no archive %q in the source store (the archives command lists them)", ErrBadRequest, id)
		}
		if in.Type == "damaged" {
			return nil, nil, fmt.Errorf("%w: archive %s of the source store cannot be read", ErrIntegrity, id)
		}
		sel = append(sel, id)
	}
	if len(vms) > 0 {
		vmIDs, err := selectVMs(list, vms)
		if err != nil {
			return nil, nil, fmt.Errorf("source store: %w", err)
		}
		for _, in := range list {
			if slices.Contains(vmIDs, in.VMID) && in.Type != "damaged" {
				sel = append(sel, in.ID)
			}
		}
	}
	if len(ids) == 0 && len(vms) == 0 {
		for _, in := range list {
			if in.Type != "damaged" {
				sel = append(sel, in.ID)
			}
		}
	}
	seen := map[string]bool{}
	gone := map[string]bool{}
	var visit func(id string, depth int)
	visit = func(id string, depth int) {
		if seen[id] || depth > len(list) {
			return
		}
		in, ok := byID[id]
		if !ok || in.Type == "damaged" {
			if !gone[id] {
				gone[id] = true
				missing = append(missing, id)
			}
			return
		}
		seen[id] = true
		if in.Parent != "" {
			visit(in.Parent, depth+1)
		}
		order = append(order, id)
	}
	// Oldest first, so that the order is the same whichever were named.
	slices.SortFunc(sel, func(a, b string) int {
		if c := byID[a].Created.Compare(byID[b].Created); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, id := range sel {
		visit(id, 0)
	}
	return order, missing, nil
}

// missingChunks returns the distinct chunk ids of runs that have reports
// absent, in the order they are first used.
func missingChunks(runs [][]chunk.Run, have func(chunk.ID) bool) []chunk.ID {
	seen := map[chunk.ID]bool{}
	var out []chunk.ID
	for _, rs := range runs {
		for _, x := range rs {
			x.Blobs(func(id chunk.ID, _ int64) {
				if seen[id] {
					return
				}
				seen[id] = true
				if !have(id) {
					out = append(out, id)
				}
			})
		}
	}
	return out
}

// copier copies archives one at a time, each in a writer session of its
// own, so that every archive is published as soon as its chunks are.
type copier struct {
	r, src     *Repo
	from, to   *store.Store
	ti         *store.Index
	stray      *store.StrayPacks
	ss         *dedup.IndexSource
	mu         sync.Mutex
	sent       map[chunk.ID]bool // chunks published by this run
	adopted    map[uint32]bool   // stray packs listed by an index file of this run
	chunkBytes int64
}

// has reports whether the target holds id: indexed, in a stray pack
// (whose number it returns, else -1) or sent by this run.
func (c *copier) has(id chunk.ID) (bool, int) {
	if c.ti.Index.Has(id) {
		return true, -1
	}
	if loc, ok := c.stray.Index.Lookup(id); ok {
		return true, int(loc.File)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[id], -1
}

// adopt has session w list the stray packs of used (not yet adopted).
func (c *copier) adopt(w *store.Writer, used map[uint32]bool) error {
	for p := range used {
		if c.adopted[p] {
			continue
		}
		if err := w.Adopt(c.stray.Names[p], c.stray.Entries[p]); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) archive(ctx context.Context, id, mode string) (*CopiedArchive, error) {
	m, err := c.src.loadStoreManifest(ctx, c.from, id)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	w, err := c.to.NewWriter(c.r.cipher, c.ti.Index)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	ca := &CopiedArchive{ID: id, VMName: m.meta.VMName, Type: m.meta.Type, Status: "copied"}
	usedStray := map[uint32]bool{}
	var sent []chunk.ID
	var plain int64
	out := &manifestData{meta: m.meta, runs: m.runs}
	out.meta.Chain = append([]string(nil), m.meta.Chain...)
	out.meta.Disks = append([]diskMeta(nil), m.meta.Disks...)
	if mode == CopyChunks {
		need := missingChunks(m.runs, func(x chunk.ID) bool {
			ok, p := c.has(x)
			if p >= 0 {
				usedStray[uint32(p)] = true
			}
			return ok
		})
		sent, plain, err = c.moveChunks(ctx, w, need)
		if err != nil {
			return nil, err
		}
	} else {
		t := &copyTarget{w: w, c: c, used: usedStray}
		sent, plain, err = c.rechunk(ctx, m, out, t)
		if err != nil {
			return nil, err
		}
	}
	if err := c.adopt(w, usedStray); err != nil {
		return nil, err
	}
	n, err := w.Commit()
	committed = true
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	c.mu.Lock()
	for _, x := range sent {
		c.sent[x] = true
	}
	for p := range usedStray {
		c.adopted[p] = true
	}
	c.chunkBytes += plain
	c.mu.Unlock()
	ca.ChunksSent = int64(len(sent))
	// The manifest as the target's: its store id, cipher and the tool
	// that wrote it; the rest (id, VM, type, parent, chain, times, disks)
	// as at the source.
	out.meta.Mode = modeStore
	out.meta.StoreID = c.to.ID
	out.meta.Cipher = c.r.cipher
	out.meta.ToolVersion = c.r.opts.ToolVersion
	size, err := c.publish(ctx, out)
	if err != nil {
		return nil, err
	}
	ca.BytesSent = n + size
	return ca, nil
}

// moveChunks copies the chunks need from the source store into w, read
// in pack and offset order, each blob re-sealed (not decompressed).
func (c *copier) moveChunks(ctx context.Context, w *store.Writer, need []chunk.ID) ([]chunk.ID, int64, error) {
	type item struct {
		id  chunk.ID
		loc chunk.Loc
		ok  bool
	}
	items := make([]item, len(need))
	for i, id := range need {
		loc, ok := c.ss.Index.Lookup(id)
		items[i] = item{id: id, loc: loc, ok: ok}
	}
	sort.SliceStable(items, func(a, b int) bool {
		x, y := items[a], items[b]
		if x.ok != y.ok {
			return x.ok // indexed first, then the source's stray packs
		}
		if x.loc.File != y.loc.File {
			return x.loc.File < y.loc.File
		}
		return x.loc.Off < y.loc.Off
	})
	var buf, opened, sealed []byte
	var plain int64
	sent := make([]chunk.ID, 0, len(items))
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		ref, err := c.ss.Locate(it.id)
		if err != nil {
			return nil, 0, fmt.Errorf("source: %w", err)
		}
		buf, err = ref.File.ReadBlob(buf, ref.Off, ref.CLen)
		if err == nil {
			sealed, opened, err = container.ResealBlob(ref.File.Sealer(), w.Sealer(), it.id, buf, opened, sealed[:0])
		}
		c.ss.Release(ref)
		if err != nil {
			return nil, 0, fmt.Errorf("source: %w", err)
		}
		if err := w.Put(it.id, sealed, int(ref.PLen)); err != nil {
			return nil, 0, fmt.Errorf("target: %w", err)
		}
		sent = append(sent, it.id)
		plain += int64(ref.PLen)
	}
	return sent, plain, nil
}

// copyTarget is the target of a re-chunking copy: the session w, with
// the chunks the target already holds (stray packs, this run's) not
// stored again.
type copyTarget struct {
	w     *store.Writer
	c     *copier
	mu    sync.Mutex
	used  map[uint32]bool
	sent  []chunk.ID
	plain int64
}

func (t *copyTarget) Claim(id chunk.ID) bool {
	if ok, p := t.c.has(id); ok {
		if p >= 0 {
			t.mu.Lock()
			t.used[uint32(p)] = true
			t.mu.Unlock()
		}
		return false
	}
	return t.w.Claim(id)
}

func (t *copyTarget) Put(id chunk.ID, blob []byte, plen int) error {
	if err := t.w.Put(id, blob, plen); err != nil {
		return err
	}
	t.mu.Lock()
	t.sent = append(t.sent, id)
	t.plain += int64(plen)
	t.mu.Unlock()
	return nil
}

func (t *copyTarget) Sealer() *crypt.Sealer { return t.w.Sealer() }

// rechunk reads every disk of m through the restore path and writes it
// through the target's pipeline; out gets the new runs and the target's
// data settings.
func (c *copier) rechunk(ctx context.Context, m, out *manifestData, t *copyTarget) ([]chunk.ID, int64, error) {
	r := c.r
	pipe, err := dedup.NewPipeline(dedup.Config{Chunker: r.chunker, IDKey: r.writeID, Codec: r.codec, Parallelism: r.par}, t)
	if err != nil {
		return nil, 0, err
	}
	closed := false
	defer func() {
		if !closed {
			pipe.Close()
		}
	}()
	out.runs = make([][]chunk.Run, len(m.runs))
	for i, d := range m.meta.Disks {
		rr := newRunReader(c.src, c.ss, m.runs[i], d.Size, m.meta.Cipher)
		runs, err := pipe.AddDisk(ctx, rr, d.Size, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("disk %s: %w", d.Label, err)
		}
		dm := &out.meta.Disks[i]
		dm.Runs, dm.Chunks, dm.Zero = len(runs), 0, 0
		for _, x := range runs {
			if x.Hole {
				dm.Zero += x.Len
			} else {
				dm.Chunks++
			}
		}
		out.runs[i] = runs
	}
	pipe.Close()
	closed = true
	out.meta.Compression, out.meta.Level = r.opts.Compression, r.opts.Level
	out.meta.ChunkMin, out.meta.ChunkAvg, out.meta.ChunkMax = r.chunker.Min(), r.chunker.Avg(), r.chunker.Max()
	return t.sent, t.plain, nil
}

// publish writes the archive file of manifest m, sealed with the target's
// key, and puts it into the target store if absent. It returns its size.
func (c *copier) publish(ctx context.Context, m *manifestData) (int64, error) {
	r := c.r
	mt := &m.meta
	var logical int64
	for _, d := range mt.Disks {
		logical += d.Size
	}
	hm := headerMeta{ID: mt.ID, VMID: mt.VMID, VMName: mt.VMName, Type: mt.Type, Parent: mt.Parent,
		Created: mt.Created, Logical: logical, Mode: modeStore, StoreID: mt.StoreID}
	keys, err := container.NewKeys(r.cipher, r.writeMaster())
	if err != nil {
		return 0, err
	}
	dir, err := c.to.Backend().Staging(ctx, "archives/")
	if err != nil {
		return 0, err
	}
	fw, err := container.CreateFile(dir, mt.ID+archiveExt, container.KindArchive, keys, hm, container.FileOpts{})
	if err != nil {
		return 0, err
	}
	defer fw.Abort()
	mb, err := encodeManifest(m)
	if err != nil {
		return 0, err
	}
	if err := fw.AddSection("manifest", mb); err != nil {
		return 0, err
	}
	if _, err := fw.Close(); err != nil {
		return 0, err
	}
	size := fw.Size()
	err = fw.PublishBy(func(tmp string) error {
		err := c.to.PutArchive(ctx, tmp, mt.ID)
		if err == nil {
			os.Remove(tmp) // PutArchive put a copy of it
		}
		return err
	})
	return size, err
}

// runReader reads a disk of a source archive, by its runs, as an
// io.ReaderAt (the pipeline of a re-chunking copy reads it in parallel
// blocks). Every chunk is authenticated (and with cipher none its id
// recomputed) as a restore does.
type runReader struct {
	src  dedup.Source
	runs []chunk.Run
	offs []int64 // start of each run
	size int64
	open func(id chunk.ID, ref dedup.BlobRef, scratch, out []byte) ([]byte, []byte, error)
	// delta rebuilds chunks stored as deltas.
	delta *dedup.Reader
}

func newRunReader(r *Repo, src dedup.Source, runs []chunk.Run, size int64, cipherName string) *runReader {
	offs := make([]int64, len(runs))
	var off int64
	for i, x := range runs {
		offs[i] = off
		off += x.Len
	}
	idKey := r.idKeyFor(cipherName)
	check := !keyed(cipherName)
	return &runReader{src: src, runs: runs, offs: offs, size: size, delta: &dedup.Reader{Codec: r.codec, IDKey: idKey},
		open: func(id chunk.ID, ref dedup.BlobRef, scratch, out []byte) ([]byte, []byte, error) {
			blob, err := ref.File.ReadBlob(nil, ref.Off, ref.CLen)
			if err != nil {
				return nil, scratch, err
			}
			var h *chunk.IDHasher
			if check {
				h = chunk.NewIDHasher(idKey)
			}
			return container.OpenBlob(r.codec, ref.File.Sealer(), h, id, blob, int(ref.PLen), scratch, out)
		}}
}

// ReadAt implements io.ReaderAt; safe for concurrent calls.
func (rr *runReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= rr.size {
		return 0, io.EOF
	}
	n := 0
	i := sort.Search(len(rr.offs), func(k int) bool { return rr.offs[k]+rr.runs[k].Len > off })
	var scratch, out []byte
	for ; n < len(p) && i < len(rr.runs); i++ {
		x := rr.runs[i]
		skip := off + int64(n) - rr.offs[i]
		want := min(int64(len(p)-n), x.Len-skip)
		if x.Hole {
			clear(p[n : n+int(want)])
			n += int(want)
			continue
		}
		if cap(out) < int(x.Len) {
			out = make([]byte, 0, x.Len)
		}
		if x.Delta != nil {
			data, err := rr.delta.LoadRun(rr.src, x, out[:x.Len])
			if err != nil {
				return n, err
			}
			copy(p[n:], data[skip:skip+want])
			n += int(want)
			continue
		}
		ref, err := rr.src.Locate(x.ID)
		if err != nil {
			return n, err
		}
		var data []byte
		data, scratch, err = rr.open(x.ID, ref, scratch, out[:0])
		if rl, ok := rr.src.(dedup.Releaser); ok {
			rl.Release(ref)
		}
		if err != nil {
			return n, err
		}
		if int64(len(data)) != x.Len {
			return n, fmt.Errorf("%w: chunk %s is %d bytes, the manifest says %d", ErrIntegrity, x.ID.Short(), len(data), x.Len)
		}
		copy(p[n:], data[skip:skip+want])
		n += int(want)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// putHook calls hook after each object put into the backend.
type putHook struct {
	store.Backend
	hook func(string)
}

func (h putHook) Put(ctx context.Context, staged, name string) error {
	err := h.Backend.Put(ctx, staged, name)
	if err == nil || errors.Is(err, store.ErrExist) {
		h.hook("put " + name)
	}
	return err
}
