package snapshot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
)

// resource is one cloud resource a job created (or may have created).
type resource struct {
	kind   string // journal.Kind*
	entry  int    // journal entry id; 0 = not journaled (found by name)
	name   string
	id     string // cloud id; "" = unknown (look it up by name)
	server string // attachment: the server
	stuck  bool   // a wait on it already ran out of time: do not wait again
	gone   bool
}

func (r *resource) String() string {
	switch {
	case r.kind == journal.KindAttachment:
		return fmt.Sprintf("attachment of volume %s (%s) to server %s", r.id, r.name, r.server)
	case r.id == "":
		return fmt.Sprintf("%s named %s", r.kind, r.name)
	default:
		return fmt.Sprintf("%s %s (%s)", r.kind, r.id, r.name)
	}
}

// Removed is one resource a cleanup or a sweep removed.
type Removed struct {
	Job  string `json:"job_id"`
	Kind string `json:"kind"` // snapshot, volume, attachment or server
	ID   string `json:"id"`
	Name string `json:"name"`
}

// cleaner removes resources in dependency order with bounded waits and
// drops their journal entries once they are gone.
type cleaner struct {
	cloud    Cloud
	t        Timeouts
	jr       *journal.Journal // nil: nothing to update
	log      logging.Log
	job      string
	mu       sync.Mutex
	removed  []Removed
	attempts int // per call; default 4
	// noSettle is set once a creation wait of the job ran out of time: the
	// cloud is not moving, so the cleanup makes one attempt per resource
	// instead of waiting for transitional statuses to settle; what cannot
	// be removed stays in the journal for the next sweep.
	noSettle atomic.Bool
}

// settle reports whether a cleanup may wait for r to leave a transitional
// status.
func (c *cleaner) settle(r *resource) bool { return !r.stuck && !c.noSettle.Load() }

// permanent reports whether err is an answer that another try would only
// repeat: a 4xx other than 404, 408, 409 and 429.
func permanent(err error) bool {
	var sc interface{ GetStatusCode() int }
	if !errors.As(err, &sc) {
		return false
	}
	code := sc.GetStatusCode()
	return code >= 400 && code < 500 && code != 404 && code != 408 && code != 409 && code != 429
}

// order is the dependency order of a cleanup.
var order = []string{journal.KindAttachment, journal.KindServer, journal.KindVolume, journal.KindSnapshot}

// run removes every resource of rs not yet gone, in dependency order:
// attachments (detach, wait available), servers, volumes (delete, wait
// gone), snapshots (delete, wait gone). Errors are collected; a failed
// resource keeps its journal entry for a later sweep.
func (c *cleaner) run(ctx context.Context, rs []*resource) error {
	var errs []error
	for _, kind := range order {
		for _, r := range rs {
			if r.gone || r.kind != kind {
				continue
			}
			if err := c.remove(ctx, r); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", r, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *cleaner) remove(ctx context.Context, r *resource) error {
	var err error
	switch r.kind {
	case journal.KindAttachment:
		err = c.detach(ctx, r)
	case journal.KindServer:
		err = c.deleteServer(ctx, r)
	case journal.KindVolume:
		err = c.deleteVolume(ctx, r)
	case journal.KindSnapshot:
		err = c.deleteSnapshot(ctx, r)
	default:
		err = fmt.Errorf("unknown kind %q in the journal", r.kind)
	}
	if err != nil {
		return err
	}
	r.gone = true
	if c.jr != nil && r.entry != 0 {
		if err := c.jr.Removed(r.entry); err != nil {
			return err
		}
	}
	return nil
}

func (c *cleaner) note(r *resource, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.kind == journal.KindAttachment {
		return // a detach removes nothing that a report should list
	}
	c.removed = append(c.removed, Removed{Job: c.job, Kind: r.kind, ID: id, Name: r.name})
	if c.log != nil {
		c.log.Infof("removed %s %s (%s)", r.kind, id, r.name)
	}
}

// retry calls fn until it succeeds, the error says not found (done), or
// the attempts run out; the pause grows between attempts.
func (c *cleaner) retry(ctx context.Context, what string, fn func() error) error {
	n := c.attempts
	if n <= 0 {
		n = 4
	}
	var err error
	for i := range n {
		err = fn()
		var se *api.StatusError
		if err == nil || api.IsNotFound(err) || errors.As(err, &se) || permanent(err) {
			return err // done, or a status/timeout that another try would only repeat
		}
		if ctx.Err() != nil {
			break
		}
		if c.log != nil {
			c.log.Warnf("%s: %v (attempt %d of %d)", what, err, i+1, n)
		}
		if i < n-1 {
			t := time.NewTimer(api.PollInterval(i + 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
	}
	return err
}

func transitional(status string) bool {
	switch strings.ToLower(status) {
	case "creating", "reserved", "attaching", "detaching", "deleting", "extending", "downloading", "uploading", "retyping", "maintenance", "backing-up", "restoring-backup":
		return true
	}
	return false
}

// detach makes sure volume r.id is no longer attached to r.server.
func (c *cleaner) detach(ctx context.Context, r *resource) error {
	return c.detachVolume(ctx, r.id, r.server, !c.settle(r))
}

func (c *cleaner) detachVolume(ctx context.Context, volID, server string, stuck bool) error {
	v, err := c.getVolume(ctx, volID)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	attached := func(v *api.Volume) bool {
		return slices.ContainsFunc(v.Attachments, func(a api.VolumeAttachment) bool { return a.ServerID == server })
	}
	if s := strings.ToLower(v.Status); (s == "reserved" || s == "attaching") && !stuck {
		// Let the attach finish; it cannot be undone halfway.
		if w, err := c.cloud.WaitVolume(ctx, volID, c.t.Attach, "in-use", "available"); err == nil {
			v = w
		} else if api.IsNotFound(err) {
			return nil
		}
	}
	switch strings.ToLower(v.Status) {
	case "available":
		if !attached(v) {
			return nil
		}
	case "detaching":
	default:
		if !attached(v) && v.Status != "in-use" {
			return nil // never got attached (e.g. the attach call failed)
		}
		err := c.retry(ctx, "detach volume "+volID, func() error { return c.cloud.DetachVolume(ctx, server, volID) })
		if api.IsNotFound(err) {
			// Nova does not know the attachment: nothing to detach.
			if !attached(v) {
				return nil
			}
			return fmt.Errorf("detach volume %s from %s: %w", volID, server, err)
		}
		if err != nil {
			return fmt.Errorf("detach volume %s from %s: %w", volID, server, err)
		}
	}
	err = c.retry(ctx, "wait for volume "+volID, func() error {
		_, err := c.cloud.WaitVolume(ctx, volID, c.t.Attach, "available")
		return err
	})
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detach volume %s: %w", volID, err)
	}
	return nil
}

func (c *cleaner) getVolume(ctx context.Context, id string) (*api.Volume, error) {
	var v *api.Volume
	err := c.retry(ctx, "read volume "+id, func() error {
		var err error
		v, err = c.cloud.GetVolume(ctx, id)
		return err
	})
	return v, err
}

// idsOf returns r's id or, when only its name is known, the ids of the
// resources list returns under that name.
func idsOf[T any](ctx context.Context, c *cleaner, r *resource, list func(context.Context) ([]T, error), idName func(T) (id, name string)) ([]string, error) {
	if r.id != "" {
		return []string{r.id}, nil
	}
	var all []T
	err := c.retry(ctx, "list "+r.kind+"s", func() error {
		var err error
		all, err = list(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, x := range all {
		if id, name := idName(x); name == r.name {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// deleteEach deletes every id of r with del and notes those that were
// there; del's gone reports one was not there at all.
func (c *cleaner) deleteEach(r *resource, ids []string, del func(id string) (gone bool, err error)) error {
	for _, id := range ids {
		gone, err := del(id)
		if err != nil {
			return err
		}
		if !gone {
			c.note(r, id)
		}
	}
	return nil
}

// deleteAndWait asks for the deletion of kind id (unless deleting says it
// is already under way) and waits until it is gone, both with retries;
// gone reports it was not there at all. status, when known, goes into the
// error.
func (c *cleaner) deleteAndWait(ctx context.Context, kind, id, status string, deleting bool, del, wait func() error) (gone bool, err error) {
	if !deleting {
		err := c.retry(ctx, "delete "+kind+" "+id, del)
		if api.IsNotFound(err) {
			return true, nil
		}
		if err != nil && status != "" {
			return false, fmt.Errorf("delete %s %s (status %s): %w", kind, id, status, err)
		}
		if err != nil {
			return false, fmt.Errorf("delete %s %s: %w", kind, id, err)
		}
	}
	if err := c.retry(ctx, "wait for "+kind+" "+id, wait); err != nil {
		return false, fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return false, nil
}

func (c *cleaner) deleteVolume(ctx context.Context, r *resource) error {
	ids, err := idsOf(ctx, c, r, c.cloud.ListVolumes, func(v api.Volume) (string, string) { return v.ID, v.Name })
	if err != nil {
		return err
	}
	return c.deleteEach(r, ids, func(id string) (bool, error) { return c.deleteVolumeID(ctx, r, id) })
}

// deleteVolumeID deletes volume id; gone reports it was not there at all.
func (c *cleaner) deleteVolumeID(ctx context.Context, r *resource, id string) (gone bool, err error) {
	v, err := c.getVolume(ctx, id)
	if api.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if transitional(v.Status) && c.settle(r) {
		w, err := c.cloud.WaitVolume(ctx, id, max(c.t.Volume, c.t.Attach), "available", "in-use")
		if api.IsNotFound(err) {
			return true, nil
		}
		if err == nil {
			v = w
		}
	}
	// Still attached somewhere (found by name, or a detach that failed):
	// detach first.
	for _, a := range v.Attachments {
		if err := c.detachVolume(ctx, id, a.ServerID, !c.settle(r)); err != nil {
			return false, err
		}
	}
	return c.deleteAndWait(ctx, "volume", id, v.Status, strings.ToLower(v.Status) == "deleting",
		func() error { return c.cloud.DeleteVolume(ctx, id) },
		func() error { return c.cloud.WaitVolumeDeleted(ctx, id, c.t.Volume) })
}

func (c *cleaner) deleteSnapshot(ctx context.Context, r *resource) error {
	ids, err := idsOf(ctx, c, r, c.cloud.ListSnapshots, func(s api.Snapshot) (string, string) { return s.ID, s.Name })
	if err != nil {
		return err
	}
	return c.deleteEach(r, ids, func(id string) (bool, error) { return c.deleteSnapshotID(ctx, r, id) })
}

// deleteSnapshotID deletes snapshot id; gone reports it was not there at all.
func (c *cleaner) deleteSnapshotID(ctx context.Context, r *resource, id string) (gone bool, err error) {
	var st string
	err = c.retry(ctx, "read snapshot "+id, func() error {
		s, err := c.cloud.GetSnapshot(ctx, id)
		if err == nil {
			st = s.Status
		}
		return err
	})
	if api.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if transitional(st) && st != "deleting" && c.settle(r) {
		s, err := c.cloud.WaitSnapshot(ctx, id, c.t.Snapshot, "available")
		if api.IsNotFound(err) {
			return true, nil
		}
		if err == nil {
			st = s.Status
		}
	}
	return c.deleteAndWait(ctx, "snapshot", id, st, st == "deleting",
		func() error { return c.cloud.DeleteSnapshot(ctx, id) },
		func() error { return c.cloud.WaitSnapshotDeleted(ctx, id, c.t.Snapshot) })
}

func (c *cleaner) deleteServer(ctx context.Context, r *resource) error {
	ids, err := idsOf(ctx, c, r, c.cloud.ListServers, func(s api.Server) (string, string) { return s.ID, s.Name })
	if err != nil {
		return err
	}
	return c.deleteEach(r, ids, func(id string) (bool, error) {
		return c.deleteAndWait(ctx, "server", id, "", false,
			func() error { return c.cloud.DeleteServer(ctx, id) },
			func() error { return c.cloud.WaitServerDeleted(ctx, id, max(c.t.Volume, c.t.Attach)) })
	})
}
