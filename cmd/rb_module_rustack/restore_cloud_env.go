package main

import (
	"context"
	"errors"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/restore"
)

// restoreEnv is what a cloud restore needs from the configuration: the
// cloud, the archive chain, the journal.
type restoreEnv struct {
	cloud    restore.Cloud
	source   restore.DiskSource
	manifest *archive.Manifest
	journal  restore.Journal
	jobID    string
	logf     func(string, ...any)
	closers  []func() error
}

func (e *restoreEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		_ = e.closers[i]()
	}
}

// openRestoreEnv opens the configuration's cloud, archive pool and journal.
// PROVISIONAL until the api client and the engine land.
func openRestoreEnv(ctx context.Context, a *app, req *cloudRequest) (*restoreEnv, error) {
	return nil, withCode(exitFailure, errors.New("restore --deploy: not yet available"))
}
