package store

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// Backend holds the objects of a store: named byte strings, written once
// and never changed. Names are slash-separated paths relative to the
// store ("config", "packs/ab/<64 hex>.pack", "index/<64 hex>.idx"); no
// element starts with "." (such names are the backend's own, for staging).
// The store needs no rename, no hard link, no append and no overwrite, so
// an object store (Swift, S3) can implement it as well as a directory.
//
// The contract, which docs/format.md (section 9) states too:
//
//   - Staging: the caller writes each new object completely as a local
//     file in the directory Staging returns, under a unique name starting
//     with ".", fsyncs it and hands it to Put. The caller removes a staged
//     file it does not hand over, and one that Put failed on.
//   - Put is atomic and put-if-absent: readers see no object or the whole
//     object, never a part; when the name exists, the existing object is
//     kept unchanged and Put returns an error wrapping ErrExist (two
//     writers putting the same name concurrently: exactly one wins). On
//     success and on ErrExist the staged file is gone; once Put returns
//     nil the object is durable.
//   - Open returns an object that stays readable while it is open; an
//     error wrapping fs.ErrNotExist when there is none.
//   - List returns the names starting with prefix, sorted, without staging
//     names. It may miss objects put while it runs (an object store's
//     listing may lag behind its puts); an object it returns may have been
//     deleted since (Open then reports fs.ErrNotExist). A name that List
//     returned and that was not deleted is listed again later.
//   - Delete removes an object; deleting a missing one is not an error.
//     Only a holder of the exclusive lock deletes data.
//   - Lock takes a named lock, shared or exclusive, blocking until it is
//     granted or ctx ends: writers hold it shared (from loading the index
//     until their archive is published), retention and garbage collection exclusive, so a
//     chunk a backup in flight may reference is never removed under it.
//     The lock is released by calling the returned function (and when the
//     process ends).
//
// Implementations are safe for concurrent use.
type Backend interface {
	// String names the store's location in messages (a directory, a URL).
	String() string
	// Staging returns a local directory for the staged files of objects
	// whose names start with prefix. A directory backend returns the
	// directory of prefix itself, so Put is a link without a copy; an
	// object store returns a local spool directory.
	Staging(ctx context.Context, prefix string) (string, error)
	// Put makes the staged local file the object name, unless an object
	// of that name exists (ErrExist).
	Put(ctx context.Context, staged, name string) error
	// Open opens an object for reading.
	Open(ctx context.Context, name string) (Object, error)
	// List returns the names of the objects whose names start with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes an object.
	Delete(ctx context.Context, name string) error
	// Lock takes the lock name in mode and returns its release.
	Lock(ctx context.Context, name string, mode LockMode) (unlock func() error, err error)
	// Sweep removes the backend's own staging files (names starting with
	// ".tmp-" where objects are staged) older than olderThan (all of them
	// when olderThan <= 0): what writers that died left behind. It
	// returns how many it removed and their bytes. Only the holder of the
	// store's exclusive lock calls it, with a grace period long enough
	// for any writer that does not take the lock to have finished.
	Sweep(ctx context.Context, olderThan time.Duration) (files int, bytes int64, err error)
}

// Object is an open object: random access reads of a known size. Objects
// of a directory backend are local files (an embedded *os.File), which
// container readers read with O_DIRECT past the page cache.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// LockMode is how a lock is held.
type LockMode int

// Lock modes: any number of shared holders, or one exclusive holder.
const (
	Shared LockMode = iota
	Exclusive
)

// ErrExist is wrapped by Put's error when the object already exists.
var ErrExist = fs.ErrExist
