package archive

// This file is the contract between the engine and its callers (the VM
// backup flow, restore, the CLI). The engine may add to it; it must not
// change these signatures without updating every caller.

import (
	"encoding/json"
	"time"

	"rb_module_rustack/internal/store"
)

// Type is the kind of a backup.
type Type string

// The backup types.
const (
	Full         Type = "full"
	Incremental  Type = "incremental"
	Differential Type = "differential"
)

// Options open a repository: an archive pool, or a dedup store when Store is set.
type Options struct {
	Pool  string // archive pool directory (archive files live here in both modes)
	Store string // dedup store location (for messages); "" = archive pool mode
	// StoreBackend holds the store's objects when it is not the directory
	// Store (an object store: internal/objstore); nil = the directory.
	StoreBackend store.Backend
	Key          []byte // 32-byte master key; nil only with Cipher "none"
	Cipher       string // a registered cipher (crypt.Names) or alias; "" = aes-256-gcm
	Compression  string // "zstd" | "none"
	Level        string // "fastest" | "default" | "better"
	ChunkMin     int
	ChunkAvg     int
	ChunkMax     int
	Parallelism  int    // chunking workers; 0 = runtime.NumCPU()
	ToolVersion  string // recorded in manifests; "" = "unknown"
	// LockWait is how long a command waits for a lock another process
	// holds (a backup for the shared locks, forget, delete and prune for
	// the exclusive ones) before it gives up naming the holder; 0 = try once.
	LockWait time.Duration
}

// BackupSpec starts one backup of one VM.
type BackupSpec struct {
	VMID   string // chains are per VM id
	VMName string
	Type   Type            // requested; Backup.Type() is what is done
	VM     json.RawMessage // VM description, stored verbatim for restore
	JobID  string
	// Created, when set, is the archive's point in time instead of the
	// start of the backup (consolidate: the synthetic full stands for the
	// archive it replaces).
	Created time.Time
	// Note is recorded in the manifest (a note of the engine's own wins).
	Note string
}

// Progress is called now and then with bytes read so far (all disks). It
// is an alias, not a named type, so that the flows that hand disks to a
// backup (internal/snapshot's Sink) need not import this package.
type Progress = func(bytesRead int64)

// Summary describes a committed archive.
type Summary struct {
	ArchiveID   string
	Path        string // the archive file
	Type        Type
	Parent      string
	BytesRead   int64 // logical bytes of all disks
	BytesZero   int64 // of which all-zero (holes)
	BytesNew    int64 // plaintext bytes of chunks new to the chain/store
	BytesStored int64 // bytes written to disk (compressed, encrypted)
	Chunks      int
	NewChunks   int
	Duration    time.Duration
}

// Info is one archive as listed by List.
type Info struct {
	ID      string    `json:"id"`
	Path    string    `json:"path"` // the archive file in the pool ("" when only the store holds a copy)
	VMID    string    `json:"vm_id"`
	VMName  string    `json:"vm_name"`
	Type    Type      `json:"type"` // full, incremental, differential, or "damaged" (unreadable header)
	Parent  string    `json:"parent"`
	Size    int64     `json:"size"`    // file size
	Logical int64     `json:"logical"` // sum of disk sizes
	Created time.Time `json:"created"`
	Mode    string    `json:"mode"`               // "pool" or "store" ("" when damaged)
	StoreID string    `json:"store_id,omitempty"` // store mode: the dedup store's id
	// InStore: the dedup store holds a copy of the archive file (store
	// mode); garbage collection counts its chunks as referenced.
	InStore bool `json:"in_store,omitempty"`
}

// Disk is one disk of a manifest.
type Disk struct {
	Label string // e.g. "vda" or the volume id; unique in an archive
	Size  int64  // bytes
}

// Manifest is what restore needs to know about one archive.
type Manifest struct {
	ID      string
	Type    Type
	Parent  string
	Chain   []string // archive ids this one needs, oldest first, itself last
	VMID    string
	VMName  string
	VM      json.RawMessage
	Disks   []Disk
	Created time.Time

	data *manifestData // the parsed manifest (engine-internal)
}

// Damage is one damaged or missing piece found by Verify.
type Damage struct {
	Archive string `json:"archive"`
	Disk    string `json:"disk,omitempty"`
	Offset  int64  `json:"offset"` // byte range in the disk (-1 when not tied to a disk)
	Length  int64  `json:"length"`
	Problem string `json:"problem"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Archive string   `json:"archive"`
	Chunks  int      `json:"chunks"`
	Bytes   int64    `json:"bytes"`
	Damaged []Damage `json:"damaged"`
}

// RestoreOptions tune RestoreDisk.
type RestoreOptions struct {
	// SkipHoles leaves holes unwritten: for targets known to read as zeros
	// (new sparse files, fresh thin volumes). Otherwise zeros are written.
	SkipHoles bool
	Progress  Progress
	// Align > 1 (a power of two, e.g. 4096) makes every write start at a
	// multiple of Align with a length that is one (except the last write of
	// the disk) from a buffer aligned in memory: for targets opened with
	// O_DIRECT. Bytes padded in for alignment are zeros of the disk.
	Align int
}

// Repository operations (implemented in repo.go, backup.go, read.go, restore.go):
//
//	func Open(opts Options) (*Repo, error)
//	func (r *Repo) Close() error
//	func (r *Repo) Begin(ctx context.Context, spec BackupSpec) (*Backup, error)
//	func (r *Repo) List(ctx context.Context) ([]Info, error)
//	func (r *Repo) Load(ctx context.Context, idOrPath string) (*Manifest, error)
//	func (r *Repo) RestoreDisk(ctx context.Context, m *Manifest, label string, dst io.WriterAt, o RestoreOptions) error
//	func (r *Repo) Verify(ctx context.Context, idOrPath string) (*VerifyReport, error)
//	func (r *Repo) VerifyWith(ctx context.Context, idOrPath string, o VerifyOptions) (*VerifyReport, error)
//
//	func (b *Backup) Type() Type      // what is really done (incremental without a base -> full)
//	func (b *Backup) Note() string    // why it differs from the request, "" otherwise
//	func (b *Backup) AddDisk(ctx context.Context, label string, src io.ReaderAt, size int64, p Progress) error // safe for concurrent calls with different labels
//	func (b *Backup) Commit(ctx context.Context) (*Summary, error)
//	func (b *Backup) Abort() error    // removes every temporary file; safe after Commit (no-op)
