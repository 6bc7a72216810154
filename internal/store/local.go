package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/lock"
)

// Local is a Backend on a local (or mounted) directory: an object is a
// file, staging is in the object's own directory, Put is a hard link
// (container.Publish: it fails when the name exists), Lock is flock(2) on
// a file of that name.
type Local struct {
	dir string
}

// NewLocal returns the backend of directory dir.
func NewLocal(dir string) *Local { return &Local{dir: dir} }

// String implements Backend.
func (l *Local) String() string { return l.dir }

func (l *Local) path(name string) string { return filepath.Join(l.dir, filepath.FromSlash(name)) }

// Staging implements Backend: the directory the prefix names (created).
func (l *Local) Staging(_ context.Context, prefix string) (string, error) {
	d := l.path(prefix)
	if !strings.HasSuffix(prefix, "/") && prefix != "" {
		d = filepath.Dir(d)
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("dedup store %s: %w", l.dir, err)
	}
	return d, nil
}

// Put implements Backend.
func (l *Local) Put(_ context.Context, staged, name string) error {
	final := l.path(name)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	existed, err := container.Publish(staged, final)
	if err != nil {
		return err
	}
	if existed {
		return fmt.Errorf("%s: %w", final, ErrExist)
	}
	return nil
}

// Open implements Backend: the object is the open file (the container
// reader reads it with O_DIRECT past the page cache).
func (l *Local) Open(_ context.Context, name string) (Object, error) {
	return container.OpenLocal(l.path(name))
}

// List implements Backend.
func (l *Local) List(_ context.Context, prefix string) ([]string, error) {
	root := l.path(prefix)
	if !strings.HasSuffix(prefix, "/") {
		root = filepath.Dir(root)
	}
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		if n := filepath.ToSlash(rel); strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: %w", l.dir, err)
	}
	slices.Sort(names)
	return names, nil
}

// Delete implements Backend.
func (l *Local) Delete(_ context.Context, name string) error {
	p := l.path(name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return container.SyncDir(filepath.Dir(p))
}

// lockPoll is how often a blocked Lock tries again.
const lockPoll = lock.Poll

// Lock implements Backend: lock.Acquire on the file name (created), which
// is flock(2) and so excludes other processes and other descriptors of
// this one alike, with a holder record beside it (name+".holders/") that
// names the holders when the lock is busy. It waits until ctx ends; the
// error then wraps ctx.Err() and lock.ErrBusy and names the holders.
func (l *Local) Lock(ctx context.Context, name string, mode LockMode) (func() error, error) {
	m := lock.Shared
	if mode == Exclusive {
		m = lock.Exclusive
	}
	lk, err := lock.Acquire(ctx, l.path(name), "dedup store "+l.dir, m, lock.Forever)
	if err != nil {
		return nil, err
	}
	return lk.Release, nil
}
