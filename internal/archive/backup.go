package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/store"
)

// Backup is one backup in progress. AddDisk may be called concurrently for
// different disks; then Commit or Abort (Abort is always safe, a no-op
// after Commit).
type Backup struct {
	r       *Repo
	spec    BackupSpec
	typ     Type
	note    string
	id      string
	parent  string
	chain   []string
	storeID string
	keys    *container.Keys
	fw      *container.FileWriter // pool mode: the archive file being written
	sw      *store.Writer         // store mode
	store   *store.Store
	pipe    *dedup.Pipeline
	started time.Time
	locks   *held // shared locks held until Commit or Abort (locks.go)
	// The parent's disks (by label), the chunks it stored as deltas and
	// where its chunks are read from: for chunks stored as deltas.
	parentRuns map[string][]chunk.Run
	deltas     map[chunk.ID]*chunk.Delta
	bases      interface{ Close() }

	mu     sync.Mutex
	order  []string // preferred disk order (SetDiskOrder)
	disks  map[string]*diskResult
	seq    int
	state  int // 0 open, 1 committed, 2 aborted
	closed bool
}

type diskResult struct {
	seq     int
	label   string
	size    int64
	runs    []chunk.Run
	done    bool
	seconds float64
}

// Begin starts a backup: it picks the parent for incremental and
// differential backups (falling back to a full one, explained by Note) and
// creates the temporary archive file.
func (r *Repo) Begin(ctx context.Context, spec BackupSpec) (*Backup, error) {
	if err := r.needWriteKey(); err != nil {
		return nil, err
	}
	if spec.VMID == "" {
		return nil, errors.New("backup: no VM id")
	}
	switch spec.Type {
	case Full, Incremental, Differential:
	case "":
		spec.Type = Full
	default:
		return nil, fmt.Errorf("backup type %q: want full, incremental or differential", spec.Type)
	}
	if len(spec.VM) > 0 && !jsonValid(spec.VM) {
		return nil, errors.New("backup: the VM description is not valid JSON")
	}
	if err := os.MkdirAll(r.opts.Pool, 0o700); err != nil {
		return nil, fmt.Errorf("archive pool: %w", err)
	}
	b := &Backup{r: r, spec: spec, typ: spec.Type, started: time.Now(), disks: map[string]*diskResult{}}
	var sto *store.Store
	if r.opts.Store != "" {
		st, err := r.storeAt(true)
		if err != nil {
			return nil, err
		}
		sto, b.store, b.storeID = st, st, st.ID
	}
	locks, err := r.lockBackup(ctx, spec.VMID, sto)
	if err != nil {
		return nil, err
	}
	b.locks = locks
	ok := false
	defer func() {
		if !ok {
			b.Abort()
		}
	}()
	base, err := b.pickParent(ctx)
	if err != nil {
		return nil, err
	}
	b.id = newArchiveID(spec.VMName, spec.VMID, b.typ, b.created())
	b.chain = append(b.chain, b.id)
	if b.note == "" {
		b.note = spec.Note
	}
	keys, err := container.NewKeys(r.cipher, r.writeMaster())
	if err != nil {
		return nil, err
	}
	b.keys = keys
	var target dedup.Target
	var bsrc dedup.Source
	if sto != nil {
		si, err := sto.LoadIndex()
		if err != nil {
			return nil, err
		}
		sw, err := sto.NewWriter(r.cipher, si.Index)
		if err != nil {
			return nil, err
		}
		b.sw, b.keys, target = sw, nil, sw
		if b.parentRuns != nil {
			bs := dedup.StoreSource(sto, si)
			b.bases, bsrc = bs, bs
		}
	} else {
		fw, err := container.CreateFile(r.opts.Pool, b.id+archiveExt, container.KindArchive, keys, b.headerMeta(), container.FileOpts{Rewritable: true, Direct: true})
		if err != nil {
			return nil, err
		}
		b.fw = fw
		target = dedup.NewFileTarget(fw, keys, base)
		if cs, ok := b.bases.(*chainSource); ok {
			bsrc = cs.Source
		}
	}
	pipe, err := dedup.NewPipeline(dedup.Config{Chunker: r.chunker, IDKey: r.writeID, Codec: r.codec, Parallelism: r.par,
		Bases: bsrc, Deltas: b.deltas}, target)
	if err != nil {
		return nil, err
	}
	b.pipe = pipe
	ok = true
	return b, nil
}

func (r *Repo) writeMaster() []byte {
	if r.cipher == "none" {
		return nil
	}
	return r.master
}

// pickParent chooses the parent and loads the chunk index of its chain
// (pool mode). When no usable parent exists the backup becomes full.
func (b *Backup) pickParent(ctx context.Context) (*chunk.Index, error) {
	if b.typ == Full {
		return nil, nil
	}
	r := b.r
	infos, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	var cand *Info
	for i := len(infos) - 1; i >= 0; i-- {
		in := &infos[i]
		if in.VMID != b.spec.VMID || in.Type == "damaged" {
			continue
		}
		if b.typ == Incremental || in.Type == Full {
			cand = in
			break
		}
	}
	toFull := func(why string) (*chunk.Index, error) {
		b.note = fmt.Sprintf("%s backup requested, doing a full backup: %s", b.spec.Type, why)
		b.typ = Full
		b.parent, b.chain = "", nil
		return nil, nil
	}
	if cand == nil {
		if b.typ == Differential {
			return toFull(fmt.Sprintf("no full backup of VM %s in pool %s", b.spec.VMID, r.opts.Pool))
		}
		return toFull(fmt.Sprintf("no earlier backup of VM %s in pool %s", b.spec.VMID, r.opts.Pool))
	}
	m, f, err := r.loadManifest(cand.Path)
	if err != nil {
		if errors.Is(err, ErrWrongKey) {
			return toFull(fmt.Sprintf("the last %s %s was written with another master key", baseWord(b.typ), cand.ID))
		}
		return toFull(fmt.Sprintf("the last %s %s cannot be read: %v", baseWord(b.typ), cand.ID, err))
	}
	f.Close()
	mt := &m.meta
	switch {
	case mt.VMID != b.spec.VMID:
		return toFull(fmt.Sprintf("%s belongs to another VM", cand.ID))
	case keyed(mt.Cipher) != keyed(r.cipher):
		return toFull(fmt.Sprintf("%s was written with cipher %s, this backup uses %s (different chunk ids)", cand.ID, mt.Cipher, r.cipher))
	case (mt.Mode == modeStore) != (b.store != nil):
		return toFull(fmt.Sprintf("%s is in %s mode, this backup in %s mode", cand.ID, mt.Mode, b.mode()))
	case b.store != nil && mt.StoreID != b.storeID:
		return toFull(fmt.Sprintf("%s is in another dedup store", cand.ID))
	}
	b.parent = mt.ID
	b.chain = append([]string(nil), mt.Chain...)
	b.parentRuns, b.deltas = map[string][]chunk.Run{}, map[chunk.ID]*chunk.Delta{}
	for i, d := range mt.Disks {
		b.parentRuns[d.Label] = m.runs[i]
		for _, x := range m.runs[i] {
			if x.Delta != nil {
				b.deltas[x.ID] = x.Delta
			}
		}
	}
	if b.store != nil {
		return nil, nil
	}
	src, err := r.source(m, false)
	if err != nil {
		b.parentRuns, b.deltas = nil, nil
		return toFull(fmt.Sprintf("the chain of %s is not usable: %v", cand.ID, err))
	}
	// Kept open until the end of the backup: chunks stored as deltas read
	// their bases from the chain.
	b.bases = src
	return src.Source.(*dedup.IndexSource).Index, nil
}

func baseWord(t Type) string {
	if t == Differential {
		return "full backup"
	}
	return "backup"
}

// created is the archive's point in time: when the backup started, or the
// time the spec gives (a synthetic full stands for the archive it
// consolidates).
func (b *Backup) created() time.Time {
	if !b.spec.Created.IsZero() {
		return b.spec.Created
	}
	return b.started
}

func (b *Backup) mode() string {
	if b.store != nil {
		return modeStore
	}
	return modePool
}

func (b *Backup) headerMeta() headerMeta {
	return headerMeta{ID: b.id, VMID: b.spec.VMID, VMName: b.spec.VMName, Type: b.typ, Parent: b.parent,
		Created: b.created().UTC(), Logical: b.logical(), Mode: b.mode(), StoreID: b.storeID}
}

func (b *Backup) logical() int64 {
	var n int64
	for _, d := range b.disks {
		n += d.size
	}
	return n
}

// Type is the type really done (an incremental without a base is a full).
func (b *Backup) Type() Type { return b.typ }

// Note says why Type differs from the request, "" otherwise.
func (b *Backup) Note() string { return b.note }

// ID is the archive id the backup will have.
func (b *Backup) ID() string { return b.id }

// SetDiskOrder sets the order of the disks in the manifest (for example
// the boot order) when AddDisk runs concurrently. Disks not named follow in
// the order their AddDisk started.
func (b *Backup) SetDiskOrder(labels []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.order = append([]string(nil), labels...)
}

// AddDisk reads one disk of size bytes from src through the pipeline.
// Labels must be unique in a backup and safe as file names
// ([A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}). src is never written.
func (b *Backup) AddDisk(ctx context.Context, label string, src io.ReaderAt, size int64, p Progress) error {
	if !validLabel(label) {
		return fmt.Errorf("disk label %q: use letters, digits and . _ : @ + - (at most 128, starting with a letter or digit)", label)
	}
	if size < 0 {
		return fmt.Errorf("disk %s: negative size", label)
	}
	b.mu.Lock()
	if b.state != 0 {
		b.mu.Unlock()
		return errors.New("backup already committed or aborted")
	}
	if _, ok := b.disks[label]; ok {
		b.mu.Unlock()
		return fmt.Errorf("disk %s added twice", label)
	}
	d := &diskResult{seq: b.seq, label: label, size: size}
	b.seq++
	b.disks[label] = d
	b.mu.Unlock()
	t0 := time.Now()
	var prog func(int64)
	if p != nil {
		prog = func(n int64) { p(n) }
	}
	runs, err := b.pipe.AddDiskFrom(ctx, src, size, b.parentRuns[label], prog)
	if err != nil {
		b.mu.Lock()
		delete(b.disks, label)
		b.mu.Unlock()
		return fmt.Errorf("disk %s: %w", label, err)
	}
	b.mu.Lock()
	d.runs, d.done, d.seconds = runs, true, time.Since(t0).Seconds()
	b.mu.Unlock()
	return nil
}

// Commit writes the manifest and publishes the archive.
func (b *Backup) Commit(ctx context.Context) (*Summary, error) {
	b.mu.Lock()
	if b.state != 0 {
		b.mu.Unlock()
		return nil, errors.New("backup already committed or aborted")
	}
	var disks []*diskResult
	for _, d := range b.disks {
		if !d.done {
			b.mu.Unlock()
			return nil, fmt.Errorf("disk %s is still being read", d.label)
		}
		disks = append(disks, d)
	}
	b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rank := func(d *diskResult) int {
		if i := slices.Index(b.order, d.label); i >= 0 {
			return i - len(b.order)
		}
		return d.seq
	}
	slices.SortFunc(disks, func(x, y *diskResult) int { return rank(x) - rank(y) })
	b.closePipe()
	for _, d := range disks {
		b.pipe.ResolveDeltas(d.runs)
	}
	st := &b.pipe.Stats
	r := b.r
	md := &manifestData{meta: manifestMeta{
		Format: 1, ID: b.id, Type: b.typ, RequestedType: b.spec.Type, Note: b.note, Parent: b.parent, Chain: b.chain,
		VMID: b.spec.VMID, VMName: b.spec.VMName, VM: b.spec.VM, JobID: b.spec.JobID,
		Created: b.created().UTC(), ToolVersion: r.opts.ToolVersion, Mode: b.mode(), StoreID: b.storeID,
		Cipher: r.cipher, Compression: r.opts.Compression, Level: r.opts.Level,
		ChunkMin: r.chunker.Min(), ChunkAvg: r.chunker.Avg(), ChunkMax: r.chunker.Max(),
	}}
	for _, d := range disks {
		dm := diskMeta{Label: d.label, Size: d.size, Runs: len(d.runs), Seconds: d.seconds}
		for _, x := range d.runs {
			if x.Hole {
				dm.Zero += x.Len
			} else {
				dm.Chunks++
			}
		}
		md.meta.Disks = append(md.meta.Disks, dm)
		md.runs = append(md.runs, d.runs)
	}
	var storeBytes int64
	if b.sw != nil {
		n, err := b.sw.Commit()
		if err != nil {
			b.Abort()
			return nil, fmt.Errorf("dedup store: %w", err)
		}
		storeBytes = n
		keys, err := container.NewKeys(r.cipher, r.writeMaster())
		if err != nil {
			b.Abort()
			return nil, err
		}
		b.keys = keys
		fw, err := container.CreateFile(r.opts.Pool, b.id+archiveExt, container.KindArchive, keys, b.headerMeta(), container.FileOpts{})
		if err != nil {
			b.Abort()
			return nil, err
		}
		b.fw = fw
	} else {
		if err := b.fw.SetMeta(b.headerMeta()); err != nil {
			b.Abort()
			return nil, err
		}
		entries := chunk.SortEntries(append([]chunk.IndexEntry(nil), b.fw.Entries()...))
		if err := b.fw.AddSection("index", chunk.EncodeIndex(nil, entries)); err != nil {
			b.Abort()
			return nil, err
		}
	}
	finished := time.Now()
	md.meta.Finished = finished.UTC()
	md.meta.Stats = statsMeta{BytesRead: st.Read.Load(), BytesZero: st.Zero.Load(), BytesNew: st.New.Load(),
		BytesStored: st.Stored.Load(), Chunks: st.Chunks.Load(), NewChunks: st.NewChunks.Load(),
		Seconds: finished.Sub(b.started).Seconds()}
	mb, err := encodeManifest(md)
	if err != nil {
		b.Abort()
		return nil, err
	}
	if err := b.fw.AddSection("manifest", mb); err != nil {
		b.Abort()
		return nil, err
	}
	if _, err := b.fw.Close(); err != nil {
		b.Abort()
		return nil, err
	}
	size := b.fw.Size()
	final := filepath.Join(r.opts.Pool, b.id+archiveExt)
	if err := b.fw.Publish(final, false); err != nil {
		b.Abort()
		return nil, err
	}
	if b.store != nil {
		// The store's copy is what garbage collection counts (the pool may
		// be on another proxy than the prune): without it the archive
		// does not count as written.
		if err := b.store.PutArchive(ctx, final, b.id); err != nil {
			os.Remove(final)
			_ = container.SyncDir(r.opts.Pool)
			b.Abort()
			return nil, err
		}
	}
	b.mu.Lock()
	b.state = 1
	b.mu.Unlock()
	b.locks.Release()
	return &Summary{ArchiveID: b.id, Path: final, Type: b.typ, Parent: b.parent,
		BytesRead: st.Read.Load(), BytesZero: st.Zero.Load(), BytesNew: st.New.Load(),
		BytesStored: size + storeBytes, Chunks: int(st.Chunks.Load()), NewChunks: int(st.NewChunks.Load()),
		Duration: time.Since(b.started)}, nil
}

func (b *Backup) closePipe() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && b.pipe != nil {
		b.pipe.Close()
	}
	if !b.closed && b.bases != nil {
		b.bases.Close()
	}
	b.closed = true
}

// Abort removes every temporary file of the backup. Safe after Commit (a
// no-op) and more than once. No AddDisk may be running.
func (b *Backup) Abort() error {
	b.mu.Lock()
	if b.state == 1 {
		b.mu.Unlock()
		return nil
	}
	b.state = 2
	b.mu.Unlock()
	b.closePipe()
	if b.fw != nil {
		b.fw.Abort()
	}
	if b.sw != nil {
		b.sw.Abort()
	}
	b.locks.Release()
	return nil
}
