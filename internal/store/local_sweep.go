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
	"time"

	"rb_module_rustack/internal/container"
)

// stagingPrefix starts the names of staged files: container.CreateFile's
// ".tmp-<16 hex>-<hint>" and the config's ".tmp-config-<hex>".
const stagingPrefix = ".tmp-"

// lockDir holds the lock files (Store.Lock): never swept.
const lockDir = "locks"

// Staged implements StagingLister: the regular files named ".tmp-*" in the
// store's directories (the root, packs/, packs/<hh>/, index/), except
// locks/, whose modification time is more than olderThan ago.
func (l *Local) Staged(ctx context.Context, olderThan time.Duration) ([]StagedFile, error) {
	now := time.Now()
	var out []StagedFile
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != l.dir {
				return nil // removed while we walk
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != l.dir && (d.Name() == lockDir && filepath.Dir(p) == l.dir || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), stagingPrefix) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // published or removed meanwhile
			}
			return err
		}
		if olderThan > 0 && now.Sub(info.ModTime()) <= olderThan {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		out = append(out, StagedFile{Name: filepath.ToSlash(rel), Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: %w", l.dir, err)
	}
	slices.SortFunc(out, func(a, b StagedFile) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Sweep implements Backend: it removes what Staged returns (a file gone
// meanwhile, published or removed by its writer, is not counted) and
// fsyncs the directories it removed from.
func (l *Local) Sweep(ctx context.Context, olderThan time.Duration) (int, int64, error) {
	files, err := l.Staged(ctx, olderThan)
	if err != nil {
		return 0, 0, err
	}
	n, bytes := 0, int64(0)
	dirs := map[string]bool{}
	for _, f := range files {
		p := l.path(f.Name)
		if err := os.Remove(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return n, bytes, fmt.Errorf("dedup store %s: %w", l.dir, err)
		}
		n++
		bytes += f.Size
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := container.SyncDir(d); err != nil {
			return n, bytes, err
		}
	}
	return n, bytes, nil
}
