package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"rb_module_rustack/internal/store"
)

// Backend is a store.Backend on a Client: objects are named
// PREFIX/<store name>, staging is a local spool directory, reads go
// through a bounded block cache.
type Backend struct {
	c      Client
	prefix string // "" or "dir/" (with the slash)
	spool  string
	cache  *blockCache
	lease  LeaseOptions
	puts   int
	noCond atomic.Bool // the server refuses conditional PUTs
}

// Options tune a Backend; the zero value is usable but for Spool.
type Options struct {
	// Spool is the local directory staged objects are written to before
	// their upload (created). Required.
	Spool string
	// CacheBytes bounds the read cache (default 64 MiB); BlockSize is the
	// unit of cached ranged reads (default 4 MiB).
	CacheBytes, BlockSize int64
	// Parallel is the number of uploads a store writer keeps in flight
	// (default 4).
	Parallel int
	// Lease tunes the locks.
	Lease LeaseOptions
}

// New returns the backend of c, whose objects are named prefix/NAME.
func New(c Client, prefix string, o Options) (*Backend, error) {
	if o.Spool == "" {
		return nil, errors.New("object store: no spool directory")
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.BlockSize <= 0 {
		o.BlockSize = 4 << 20
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	return &Backend{c: c, prefix: prefix, spool: o.Spool, cache: newBlockCache(o.CacheBytes, o.BlockSize),
		lease: o.Lease.withDefaults(), puts: o.Parallel}, nil
}

var (
	_ store.Backend       = (*Backend)(nil)
	_ store.StagingLister = (*Backend)(nil)
)

// Client returns the backend's client.
func (b *Backend) Client() Client { return b.c }

// String implements store.Backend: the location URL.
func (b *Backend) String() string { return b.c.String() }

// PutParallel is how many uploads a store writer keeps in flight.
func (b *Backend) PutParallel() int { return b.puts }

func (b *Backend) full(name string) string { return b.prefix + name }

// Staging implements store.Backend: the spool directory (one for all
// prefixes: staged names are unique).
func (b *Backend) Staging(_ context.Context, _ string) (string, error) {
	if err := os.MkdirAll(b.spool, 0o700); err != nil {
		return "", fmt.Errorf("object store %s: spool directory: %w", b, err)
	}
	return b.spool, nil
}

// Put implements store.Backend: a conditional upload of the staged file,
// which is removed afterwards whatever the outcome (the caller's contract
// removes it on a failure too; removing twice is harmless).
func (b *Backend) Put(ctx context.Context, staged, name string) error {
	f, err := os.Open(staged)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	err = b.putIfAbsent(ctx, b.full(name), f, st.Size())
	f.Close()
	if err == nil || errors.Is(err, ErrExist) {
		os.Remove(staged)
	}
	if errors.Is(err, ErrExist) {
		return fmt.Errorf("%s/%s: %w", b, name, store.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("object store %s: %w", b, err)
	}
	return nil
}

// putIfAbsent is a conditional PUT; on a server that refuses conditional
// PUTs (501, as Swift's s3api does) it looks first and then writes
// unconditionally, for this and every later Put. That leaves a window in
// which two writers both write one name; the store only writes
// content-addressed names (the same bytes either way) and unique ones,
// and re-reads its config after creating it (docs/format.md, section 9).
func (b *Backend) putIfAbsent(ctx context.Context, name string, body io.ReaderAt, size int64) error {
	if !b.noCond.Load() {
		err := b.c.Put(ctx, name, body, size, true)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 501 {
			return err
		}
		b.noCond.Store(true)
	}
	if _, err := b.c.Stat(ctx, name); err == nil {
		return &StatusError{Op: "PUT", Name: name, Code: 412}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return b.c.Put(ctx, name, body, size, false)
}

// Open implements store.Backend.
func (b *Backend) Open(ctx context.Context, name string) (store.Object, error) {
	in, err := b.c.Stat(ctx, b.full(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s/%s: %w", b, name, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("object store %s: %w", b, err)
	}
	o := &object{b: b, name: b.full(name), size: in.Size}
	o.lastEnd.Store(-1 << 62) // the first read is not sequential
	return o, nil
}

// List implements store.Backend: the names under prefix, without the
// location's prefix, without names that have an element starting with
// "." (none are written), sorted.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	infos, err := b.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(infos))
	for _, in := range infos {
		names = append(names, in.Name)
	}
	return names, nil
}

// list is List with sizes and times.
func (b *Backend) list(ctx context.Context, prefix string) ([]Info, error) {
	infos, err := b.c.List(ctx, b.full(prefix))
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", b, err)
	}
	out := infos[:0]
	for _, in := range infos {
		n := strings.TrimPrefix(in.Name, b.prefix)
		if hidden(n) {
			continue
		}
		in.Name = n
		out = append(out, in)
	}
	slices.SortFunc(out, func(x, y Info) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func hidden(name string) bool {
	for _, e := range strings.Split(name, "/") {
		if strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

// Delete implements store.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	b.cache.drop(b.full(name))
	if err := b.c.Delete(ctx, b.full(name)); err != nil {
		return fmt.Errorf("object store %s: %w", b, err)
	}
	return nil
}

// Lock implements store.Backend with a lease (lease.go).
func (b *Backend) Lock(ctx context.Context, name string, mode store.LockMode) (func() error, error) {
	return b.acquire(ctx, name, mode)
}

// Staged implements store.StagingLister: the spool's staging files.
func (b *Backend) Staged(_ context.Context, olderThan time.Duration) ([]store.StagedFile, error) {
	ents, err := os.ReadDir(b.spool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("object store %s: spool: %w", b, err)
	}
	var out []store.StagedFile
	now := time.Now()
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") || e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if olderThan > 0 && now.Sub(fi.ModTime()) < olderThan {
			continue
		}
		out = append(out, store.StagedFile{Name: path.Join(".spool", e.Name()), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return out, nil
}

// Sweep implements store.Backend: the spool's staging files older than
// olderThan. (Uploads are single requests, so the server holds no partial
// uploads of ours.)
func (b *Backend) Sweep(ctx context.Context, olderThan time.Duration) (int, int64, error) {
	files, err := b.Staged(ctx, olderThan)
	if err != nil {
		return 0, 0, err
	}
	n, bytes := 0, int64(0)
	for _, f := range files {
		if err := os.Remove(filepath.Join(b.spool, path.Base(f.Name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, bytes, fmt.Errorf("object store %s: spool: %w", b, err)
		}
		n++
		bytes += f.Size
	}
	return n, bytes, nil
}

// object is an open object: ranged reads through the block cache.
type object struct {
	b       *Backend
	name    string
	size    int64
	lastEnd atomic.Int64 // end of the previous read, to see sequential reads
}

func (o *object) Size() int64  { return o.size }
func (o *object) Close() error { return nil }

// ReadAt implements io.ReaderAt.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset", o.name)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	n := len(p)
	var eof error
	if int64(n) > o.size-off {
		n, eof = int(o.size-off), io.EOF
	}
	if err := o.b.cache.read(context.Background(), o, p[:n], off); err != nil {
		return 0, fmt.Errorf("object store %s: %w", o.b, err)
	}
	return n, eof
}

// Probe writes a small object under probes/, reads it back and deletes
// it: what `-t` checks. It returns a sentence of what it did.
func (b *Backend) Probe(ctx context.Context) (string, error) {
	host, _ := os.Hostname()
	name := fmt.Sprintf("probes/%s-%d-%d", strings.ReplaceAll(host, "/", "_"), os.Getpid(), time.Now().UnixNano())
	body := []byte("rb_module_rustack probe " + name + "\n")
	start := time.Now()
	if err := b.c.Put(ctx, b.full(name), bytes.NewReader(body), int64(len(body)), true); err != nil {
		return "", fmt.Errorf("write a probe object: %w", err)
	}
	got := make([]byte, len(body))
	err := b.c.Get(ctx, b.full(name), 0, got)
	derr := b.c.Delete(ctx, b.full(name))
	switch {
	case err != nil:
		return "", fmt.Errorf("read the probe object back: %w", err)
	case !bytes.Equal(got, body):
		return "", errors.New("the probe object read back differs from what was written")
	case derr != nil:
		return "", fmt.Errorf("delete the probe object: %w", derr)
	}
	return fmt.Sprintf("probe object written, read back and deleted in %v", time.Since(start).Round(time.Millisecond)), nil
}
