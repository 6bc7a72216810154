package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Publish gives the finished, fsynced local file tmp the name final, unless
// final exists: then final is left as it is and existed is true. Either way
// tmp is gone afterwards (on success and when final existed) and final's
// directory is fsynced. It hard-links tmp to final, which fails when final
// exists, so a finished file is never replaced even by a concurrent
// writer; where hard links are not supported it renames tmp after checking
// that final is free (docs/format.md, section 8).
func Publish(tmp, final string) (existed bool, err error) {
	if err := os.Link(tmp, final); err != nil {
		switch {
		case errors.Is(err, fs.ErrExist):
			existed = true
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EXDEV):
			// No hard links on this file system: rename after checking.
			if _, serr := os.Lstat(final); serr == nil {
				existed = true
			} else if rerr := os.Rename(tmp, final); rerr != nil {
				return false, fmt.Errorf("rename to %s: %w", final, rerr)
			} else {
				return false, SyncDir(filepath.Dir(final))
			}
		default:
			return false, fmt.Errorf("link %s: %w", final, err)
		}
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return existed, fmt.Errorf("remove %s: %w", tmp, err)
	}
	return existed, SyncDir(filepath.Dir(final))
}

// SyncDir fsyncs a directory, so the names created or removed in it are
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
