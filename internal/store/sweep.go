package store

import (
	"context"
	"time"
)

// StagedFile is a staging file of a backend: a staged object that was
// never published (a writer in flight, or one that died).
type StagedFile struct {
	Name    string // slash-separated, relative to the store
	Size    int64
	ModTime time.Time
}

// StagingLister is implemented by backends that can list their staging
// files without removing them (Local): Check reports them and a dry-run
// Prune counts them. Backend.Sweep removes them. A backend without it
// reports none.
type StagingLister interface {
	// Staged returns the staging files older than olderThan (all when
	// olderThan <= 0), sorted by name.
	Staged(ctx context.Context, olderThan time.Duration) ([]StagedFile, error)
}

// stagedFiles lists the staging files of be older than olderThan, none
// when be cannot list them.
func stagedFiles(ctx context.Context, be Backend, olderThan time.Duration) ([]StagedFile, error) {
	if l, ok := be.(StagingLister); ok {
		return l.Staged(ctx, olderThan)
	}
	return nil, nil
}
