package archive

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
)

// Errors callers map to exit codes. Every integrity problem wraps
// ErrIntegrity; a wrong key wraps ErrWrongKey (and ErrIntegrity does not
// match it); a missing parent archive wraps ErrMissingParent.
var (
	ErrWrongKey      = crypt.ErrWrongKey
	ErrIntegrity     = chunk.ErrDamaged
	ErrMissing       = chunk.ErrMissing
	ErrMissingParent = errors.New("parent archive missing")
	ErrNotFound      = errors.New("archive not found")
	ErrKeyNeeded     = container.ErrKeyNeeded
)

// Archive file name suffix in a pool.
const archiveExt = ".rba"

// Repo is an archive pool, optionally over a dedup store. Safe for
// concurrent use by several backups and restores.
type Repo struct {
	opts    Options
	master  []byte // nil when no key was given
	cipher  string // cipher of new data
	writeID [32]byte
	chunker *chunker.Chunker
	codec   *codec.Codec
	par     int
}

// Open checks the options and opens the repository. Nothing is created
// until the first backup.
func Open(opts Options) (*Repo, error) {
	if opts.Pool == "" {
		return nil, errors.New("no archive pool directory given (--pool or pool in the configuration)")
	}
	if opts.Cipher == "" {
		opts.Cipher = crypt.AES256GCM
	}
	opts.Cipher = crypt.Canonical(opts.Cipher) // files record the registered name
	if !crypt.ValidCipher(opts.Cipher) {
		return nil, fmt.Errorf("unknown cipher %q: want one of %s", opts.Cipher, strings.Join(crypt.Names(), ", "))
	}
	if opts.Key != nil && len(opts.Key) != crypt.KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", crypt.KeySize, len(opts.Key))
	}
	if opts.ChunkMin == 0 {
		opts.ChunkMin = chunker.DefaultChunkMin
	}
	if opts.ChunkAvg == 0 {
		opts.ChunkAvg = chunker.DefaultChunkAvg
	}
	if opts.ChunkMax == 0 {
		opts.ChunkMax = chunker.DefaultChunkMax
	}
	if opts.Compression == "" {
		opts.Compression = "zstd"
	}
	if opts.Level == "" {
		opts.Level = "fastest"
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.NumCPU()
	}
	if opts.ToolVersion == "" {
		opts.ToolVersion = "unknown"
	}
	r := &Repo{opts: opts, master: opts.Key, cipher: opts.Cipher, par: opts.Parallelism}
	var writeMaster []byte
	if opts.Cipher != crypt.None {
		writeMaster = opts.Key
	}
	r.writeID = crypt.ChunkIDKey(writeMaster)
	ch, err := chunker.NewChunker(opts.ChunkMin, opts.ChunkAvg, opts.ChunkMax, crypt.GearSeed(writeMaster))
	if err != nil {
		return nil, err
	}
	r.chunker = ch
	codec, err := codec.New(opts.Compression, opts.Level, opts.ChunkMax, opts.Parallelism)
	if err != nil {
		return nil, err
	}
	r.codec = codec
	return r, nil
}

// Close releases the repository's resources.
func (r *Repo) Close() error {
	r.codec.Close()
	return nil
}

// needWriteKey checks that new data can be written.
func (r *Repo) needWriteKey() error {
	if r.cipher != crypt.None && r.master == nil {
		return fmt.Errorf("cipher %s needs the master key: pass --key-file, or choose --cipher none explicitly", r.cipher)
	}
	return nil
}

// idKeyFor is the chunk-id key of data written with cipherName.
func (r *Repo) idKeyFor(cipherName string) [32]byte {
	if cipherName == crypt.None {
		return crypt.ChunkIDKey(nil)
	}
	return crypt.ChunkIDKey(r.master)
}

// keyed reports whether chunk ids of data with cipherName are keyed with the master key.
func keyed(cipherName string) bool { return cipherName != crypt.None }

// newArchiveID makes a sortable archive id.
func newArchiveID(vmName, vmID string, t Type, now time.Time) string {
	name := sanitize(vmName)
	if name == "" {
		name = sanitize(vmID)
	}
	if name == "" {
		name = "vm"
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("%s-%s-%s-%s", name, now.UTC().Format("20060102T150405.000Z"), t, hex.EncodeToString(rnd[:]))
}

// sanitize keeps letters, digits, '.', '_' and '-' (others become '_'),
// at most 64 bytes, not starting with '.' or '-'.
func sanitize(s string) string {
	var sb strings.Builder
	for _, c := range s {
		if sb.Len() >= 64 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			sb.WriteRune(c)
		default:
			sb.WriteByte('_')
		}
	}
	return strings.TrimLeft(sb.String(), ".-")
}
