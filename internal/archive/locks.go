package archive

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"rb_module_rustack/internal/lock"
	"rb_module_rustack/internal/store"
)

// Locks (docs/format.md, section 8, and docs/retention.md): writing never
// needs an exclusive lock, but a writer holds shared locks for as long as
// it may reference data that a deleting command could remove:
//
//	POOL/.locks/gate      taken shared for a moment by every writer before
//	                      its other locks, exclusive by prune for its whole
//	                      run: new writers wait behind a waiting prune, so
//	                      a stream of overlapping backups cannot starve it
//	POOL/.locks/pool      backups shared; prune exclusive (it removes the
//	                      temporary files of dead writers)
//	POOL/.locks/vm-<id>   backups of that VM shared; forget, delete and
//	                      consolidate of that VM exclusive
//	STORE/locks/gate      as the pool's gate, for the dedup store
//	STORE/locks/gc        store-mode backups shared, from loading the store
//	                      index until their archive is published; prune
//	                      exclusive
//
// The locks are flock(2) locks (they end with the process, so a killed
// process never blocks anyone) with a record of each holder beside them,
// which names a live holder in the message of a command that must wait.

// ErrLocked is wrapped by the error of a command that gave up waiting for
// a lock another process holds; the message names the holder.
var ErrLocked = lock.ErrBusy

// held is a set of locks taken together, released in reverse order.
type held struct{ release []func() error }

func (h *held) add(f func() error) { h.release = append(h.release, f) }

// Release releases every lock (idempotent).
func (h *held) Release() {
	if h == nil {
		return
	}
	for i := len(h.release) - 1; i >= 0; i-- {
		_ = h.release[i]()
	}
	h.release = nil
}

// poolLock takes POOL/.locks/name.
func (r *Repo) poolLock(ctx context.Context, h *held, name string, mode lock.Mode) error {
	l, err := lock.Acquire(ctx, filepath.Join(r.opts.Pool, ".locks", name), "archive pool "+r.opts.Pool, mode, r.opts.LockWait)
	if err != nil {
		return err
	}
	h.add(l.Release)
	return nil
}

// storeLock takes STORE/locks/name through the store's backend, waiting
// at most LockWait.
func (r *Repo) storeLock(ctx context.Context, h *held, st *store.Store, name string, mode store.LockMode) error {
	wait := r.opts.LockWait
	if wait <= 0 {
		wait = 100 * time.Millisecond // one try, and a second one after a poll
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	unlock, err := st.Backend().Lock(wctx, "locks/"+name, mode)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrLocked) {
			return err // names the holders and what to do
		}
		return fmt.Errorf("dedup store %s: lock %s: %w", st.Dir, name, err)
	}
	h.add(unlock)
	return nil
}

// vmLockName is the name of the lock of one VM's archives.
func vmLockName(vmID string) string {
	n := sanitize(vmID)
	if n == "" {
		n = "unnamed"
	}
	return "vm-" + n
}

// lockBackup takes a backup's shared locks: through the gates, the pool,
// the VM and (store mode) the store's gc lock.
func (r *Repo) lockBackup(ctx context.Context, vmID string, st *store.Store) (*held, error) {
	h := &held{}
	gate := &held{}
	defer gate.Release()
	steps := []func() error{
		func() error { return r.poolLock(ctx, gate, "gate", lock.Shared) },
		func() error { return r.poolLock(ctx, h, "pool", lock.Shared) },
		func() error { return r.poolLock(ctx, h, vmLockName(vmID), lock.Shared) },
	}
	if st != nil {
		steps = append(steps,
			func() error { return r.storeLock(ctx, gate, st, "gate", store.Shared) },
			func() error { return r.storeLock(ctx, h, st, "gc", store.Shared) })
	}
	return takeAll(h, steps)
}

// takeAll runs the lock steps in order; when one fails, the locks of h
// are released and its error returned.
func takeAll(h *held, steps []func() error) (*held, error) {
	for _, step := range steps {
		if err := step(); err != nil {
			h.Release()
			return nil, err
		}
	}
	return h, nil
}

// lockVMs takes the exclusive locks of the VMs whose archives a command
// removes, in a fixed order.
func (r *Repo) lockVMs(ctx context.Context, vmIDs []string) (*held, error) {
	h := &held{}
	var steps []func() error
	for _, id := range vmIDs {
		steps = append(steps, func() error { return r.poolLock(ctx, h, vmLockName(id), lock.Exclusive) })
	}
	return takeAll(h, steps)
}

// lockPrune takes prune's exclusive locks: the pool's gate and pool lock,
// and with a store its gate and gc lock.
func (r *Repo) lockPrune(ctx context.Context, st *store.Store) (*held, error) {
	h := &held{}
	steps := []func() error{
		func() error { return r.poolLock(ctx, h, "gate", lock.Exclusive) },
		func() error { return r.poolLock(ctx, h, "pool", lock.Exclusive) },
	}
	if st != nil {
		steps = append(steps,
			func() error { return r.storeLock(ctx, h, st, "gate", store.Exclusive) },
			func() error { return r.storeLock(ctx, h, st, "gc", store.Exclusive) })
	}
	return takeAll(h, steps)
}
