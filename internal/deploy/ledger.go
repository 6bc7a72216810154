package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/api"
)

// MetaJob is the volume metadata key that ties a new volume to its restore
// job (and lets a sweep or an operator find it).
const MetaJob = "rb_module_rustack.job"

// ledger is what this restore created so far, in creation order, so that a
// failure can remove it in dependency order: server, attachments, volumes.
// It keeps the journal in step: an entry before each create call, the id
// after it, and the entry dropped when the resource is gone or handed over.
type ledger struct {
	c       Cloud
	o       *Options
	mu      sync.Mutex // guards proxy, open and attachDoubt: disks are written concurrently
	volumes []ledgerVolume
	pending []ledgerVolume // volumes whose create call failed (they may exist anyway)
	proxy   map[string]int // volume id -> journal entry of its attachment to the proxy
	server  string         // server id
	serverE int            // its journal entry
	serverN string         // server name whose create call failed (it may exist anyway)
	// serverDoubt: that call was cut off; watch for the server (Options.Settle).
	serverDoubt bool
	attachDoubt map[string]bool // volume ids whose attach call was cut off
	started     time.Time
	open        map[int]bool // journal entries not yet removed
}

type ledgerVolume struct {
	id, name string
	entry    int
	doubt    bool // the create call was cut off: watch for it (Options.Settle)
}

// outcome classifies a failed create or attach call.
type outcome int

const (
	refused outcome = iota // the cloud answered 4xx: nothing was done
	unknown                // another error: look once
	cutOff                 // canceled or lost on the way: it may still happen
)

func classify(ctx context.Context, err error) outcome {
	var ue *url.Error
	code := api.StatusCode(err)
	switch {
	case ctx.Err() != nil || errors.As(err, &ue) || code >= 500:
		return cutOff
	case code >= 400:
		return refused
	}
	return unknown
}

func newLedger(c Cloud, o *Options) *ledger {
	return &ledger{c: c, o: o, proxy: map[string]int{}, started: o.Now(), open: map[int]bool{},
		attachDoubt: map[string]bool{}}
}

// record journals a resource about to be created.
func (l *ledger) record(kind, name string) (int, error) {
	e, err := l.o.Journal.Record(kind, name)
	if err != nil {
		return 0, fmt.Errorf("journal %s %s: %w", kind, name, err)
	}
	l.mu.Lock()
	l.open[e] = true
	l.mu.Unlock()
	return e, nil
}

// createVolume journals, creates and records one volume.
func (l *ledger) createVolume(ctx context.Context, req api.VolumeCreate) (*api.Volume, error) {
	e, err := l.record(KindVolume, req.Name)
	if err != nil {
		return nil, err
	}
	v, err := l.c.CreateVolume(ctx, req)
	if err != nil {
		switch classify(ctx, err) {
		case refused:
			l.remove(e)
		case unknown:
			l.pending = append(l.pending, ledgerVolume{name: req.Name, entry: e})
		case cutOff:
			l.pending = append(l.pending, ledgerVolume{name: req.Name, entry: e, doubt: true})
		}
		return nil, err
	}
	l.volumes = append(l.volumes, ledgerVolume{id: v.ID, name: req.Name, entry: e})
	if err := l.o.Journal.Created(e, v.ID); err != nil {
		return v, fmt.Errorf("journal volume %s: %w", v.ID, err)
	}
	return v, nil
}

// attach journals and attaches a volume to the proxy.
func (l *ledger) attach(ctx context.Context, volumeID, name string) error {
	e, err := l.o.Journal.RecordAttachment(l.o.ProxyVMID, volumeID, name)
	if err != nil {
		return fmt.Errorf("journal attachment of %s: %w", volumeID, err)
	}
	l.mu.Lock()
	l.open[e] = true
	l.proxy[volumeID] = e
	l.mu.Unlock()
	if _, err := l.c.AttachVolume(ctx, l.o.ProxyVMID, volumeID); err != nil {
		switch classify(ctx, err) {
		case refused:
			l.detached(volumeID)
		case cutOff:
			l.mu.Lock()
			l.attachDoubt[volumeID] = true
			l.mu.Unlock()
		}
		return fmt.Errorf("attach volume %s to the proxy VM %s: %w", volumeID, l.o.ProxyVMID, err)
	}
	if err := l.o.Journal.Created(e, volumeID); err != nil {
		return fmt.Errorf("journal attachment of %s: %w", volumeID, err)
	}
	return nil
}

// detach detaches a volume from the proxy and waits until it is available.
func (l *ledger) detach(ctx context.Context, volumeID string) error {
	if err := l.c.DetachVolume(ctx, l.o.ProxyVMID, volumeID); err != nil {
		return fmt.Errorf("detach volume %s from the proxy VM %s: %w", volumeID, l.o.ProxyVMID, err)
	}
	if _, err := l.c.WaitVolume(ctx, volumeID, l.o.AttachTimeout, "available"); err != nil {
		return fmt.Errorf("detach volume %s from the proxy VM: %w", volumeID, err)
	}
	l.detached(volumeID)
	return nil
}

func (l *ledger) detached(volumeID string) {
	l.mu.Lock()
	e, ok := l.proxy[volumeID]
	delete(l.proxy, volumeID)
	l.mu.Unlock()
	if ok {
		l.remove(e)
	}
}

// attached reports whether volumeID is (or may be) attached to the proxy.
func (l *ledger) attached(volumeID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.proxy[volumeID]
	return ok
}

// createServer journals, creates and records the server.
func (l *ledger) createServer(ctx context.Context, req api.ServerCreate) (*api.Server, error) {
	e, err := l.record(KindServer, req.Name)
	if err != nil {
		return nil, err
	}
	l.serverE = e
	s, err := l.c.CreateServer(ctx, req)
	if err != nil {
		switch classify(ctx, err) {
		case refused:
			l.remove(e)
		case cutOff:
			l.serverN, l.serverDoubt = req.Name, true
		case unknown:
			l.serverN = req.Name
		}
		return nil, err
	}
	l.server = s.ID
	if err := l.o.Journal.Created(e, s.ID); err != nil {
		return s, fmt.Errorf("journal server %s: %w", s.ID, err)
	}
	return s, nil
}

// remove drops a journal entry. A journal that cannot be updated leaves an
// entry that a sweep checks against the cloud; not worth failing for.
func (l *ledger) remove(e int) {
	l.mu.Lock()
	open := l.open[e]
	delete(l.open, e)
	l.mu.Unlock()
	if open {
		_ = l.o.Journal.Removed(e)
	}
}

// handOver drops every journal entry: the resources now belong to the user.
func (l *ledger) handOver() {
	l.mu.Lock()
	es := make([]int, 0, len(l.open))
	for e := range l.open {
		es = append(es, e)
	}
	l.mu.Unlock()
	slices.Sort(es)
	for _, e := range es {
		l.remove(e)
	}
}

// rollback removes everything created so far, in dependency order. It runs
// with a context that is not canceled by the caller's (a SIGINT must not stop
// the cleanup), bounded by the configured timeouts. It returns what it could
// not remove, as "kind id (reason)".
func (l *ledger) rollback(parent context.Context) []string {
	ctx := context.WithoutCancel(parent)
	var left []string
	progress := func(msg string) { l.o.Progress(Event{Stage: "rollback", Msg: msg}) }

	// A server whose create call failed may still have been created (and,
	// when the call was cut off, may appear a little later).
	if l.server == "" && l.serverN != "" {
		err := l.settle(ctx, l.serverDoubt, func() (bool, error) {
			servers, err := l.c.ListServers(ctx)
			for _, s := range servers {
				if s.Name == l.serverN && !s.Created.Before(l.started.Add(-time.Minute)) {
					l.server = s.ID
				}
			}
			return l.server != "", err
		})
		if err != nil {
			left = append(left, fmt.Sprintf("server named %s, if it was created (%v)", l.serverN, err))
		} else if l.server == "" {
			l.remove(l.serverE)
		}
	}
	if l.server != "" {
		progress("deleting server " + l.server)
		err := l.c.DeleteServer(ctx, l.server)
		if err == nil || api.IsNotFound(err) {
			err = l.c.WaitServerDeleted(ctx, l.server, l.o.ServerTimeout)
		}
		if err != nil {
			left = append(left, fmt.Sprintf("server %s (%v)", l.server, err))
		} else {
			l.remove(l.serverE)
		}
	}

	// Volumes whose create call failed may exist: find them by name and job.
	if len(l.pending) > 0 {
		doubt := slices.ContainsFunc(l.pending, func(p ledgerVolume) bool { return p.doubt })
		found := map[int]bool{}
		err := l.settle(ctx, doubt, func() (bool, error) {
			vols, err := l.c.ListVolumes(ctx)
			for _, p := range l.pending {
				for _, v := range vols {
					if v.Name == p.name && (l.o.JobID == "" || v.Metadata[MetaJob] == l.o.JobID) &&
						!slices.ContainsFunc(l.volumes, func(x ledgerVolume) bool { return x.id == v.ID }) {
						l.volumes = append(l.volumes, ledgerVolume{id: v.ID, name: v.Name, entry: p.entry})
						found[p.entry] = true
					}
				}
			}
			return len(found) == len(l.pending), err
		})
		if err != nil {
			left = append(left, fmt.Sprintf("volumes named %s, if they were created (%v)", pendingNames(l.pending), err))
		} else {
			for _, p := range l.pending {
				if !found[p.entry] {
					l.remove(p.entry)
				}
			}
		}
		l.pending = nil
	}

	for _, v := range l.volumes {
		if !l.attached(v.id) {
			continue
		}
		progress("detaching volume " + v.id + " from the proxy VM")
		if err := l.detachForRollback(ctx, v.id); err != nil {
			left = append(left, fmt.Sprintf("attachment of volume %s to the proxy VM %s (%v)", v.id, l.o.ProxyVMID, err))
		}
	}

	for _, v := range slices.Backward(l.volumes) {
		progress("deleting volume " + v.id)
		if err := l.deleteVolume(ctx, v.id); err != nil {
			left = append(left, fmt.Sprintf("volume %s %s (%v)", v.id, v.name, err))
		} else {
			l.remove(v.entry)
		}
	}
	return left
}

func pendingNames(p []ledgerVolume) string {
	names := make([]string, len(p))
	for i, v := range p {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// settle calls look until it finds what it looks for or fails; when doubt
// (a create or attach call was cut off, so the cloud may still carry it
// out) it keeps looking for Options.Settle, else it looks once.
func (l *ledger) settle(ctx context.Context, doubt bool, look func() (bool, error)) error {
	deadline := time.Now().Add(l.o.Settle)
	for {
		ok, err := look()
		if ok || err != nil || !doubt || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(min(500*time.Millisecond, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func attachedTo(v *api.Volume, server string) bool {
	return slices.ContainsFunc(v.Attachments, func(a api.VolumeAttachment) bool { return a.ServerID == server })
}

func (l *ledger) detachForRollback(ctx context.Context, volumeID string) error {
	// Let an attach in flight settle first: Cinder refuses to detach a
	// volume that is still "attaching".
	v, err := l.c.WaitVolume(ctx, volumeID, l.o.AttachTimeout, "in-use", "available")
	if api.IsNotFound(err) {
		l.detached(volumeID)
		return nil
	}
	if err != nil {
		return err
	}
	l.mu.Lock()
	doubt := l.attachDoubt[volumeID]
	l.mu.Unlock()
	if v.Status == "available" && !attachedTo(v, l.o.ProxyVMID) && doubt {
		// The attach call was cut off: Nova may still be working on it.
		var seen *api.Volume
		err := l.settle(ctx, true, func() (bool, error) {
			w, err := l.c.GetVolume(ctx, volumeID)
			if err != nil {
				return false, err
			}
			seen = w
			return w.Status != "available" || attachedTo(w, l.o.ProxyVMID), nil
		})
		if err != nil && !api.IsNotFound(err) {
			return err
		}
		if seen != nil && (seen.Status != "available" || attachedTo(seen, l.o.ProxyVMID)) {
			if v, err = l.c.WaitVolume(ctx, volumeID, l.o.AttachTimeout, "in-use", "available"); err != nil {
				return err
			}
		}
	}
	if v.Status == "available" && !attachedTo(v, l.o.ProxyVMID) {
		l.detached(volumeID)
		return nil
	}
	return l.detach(ctx, volumeID)
}

// deleteVolume deletes one volume and waits until it is gone. A volume that
// turns out to be attached to the proxy (an attach that was cut off and
// carried out late) is detached first; a delete refused because the volume
// changed state meanwhile is tried again.
func (l *ledger) deleteVolume(ctx context.Context, id string) error {
	for attempt := 1; ; attempt++ {
		// A volume still being created cannot be deleted yet; an error* one can.
		v, err := l.c.WaitVolume(ctx, id, l.o.VolumeTimeout, "available", "in-use")
		var se *api.StatusError
		switch {
		case api.IsNotFound(err):
			return nil
		case err != nil && errors.As(err, &se) && !se.TimedOut:
		case err != nil:
			return err
		case v.Status == "in-use" && attachedTo(v, l.o.ProxyVMID):
			if err := l.detach(ctx, id); err != nil {
				return err
			}
			continue
		case v.Status == "in-use":
			return fmt.Errorf("volume %s is attached to another server: %+v", id, v.Attachments)
		}
		err = l.c.DeleteVolume(ctx, id)
		switch {
		case err == nil || api.IsNotFound(err):
			return l.c.WaitVolumeDeleted(ctx, id, l.o.VolumeTimeout)
		case attempt < 4 && classify(ctx, err) != cutOff:
			continue // e.g. 400: the volume was reserved by a late attach meanwhile
		default:
			return err
		}
	}
}

// kept lists what a failed restore leaves in place with KeepPartial.
func (l *ledger) kept() []string {
	var out []string
	if l.server != "" {
		out = append(out, "server "+l.server)
	}
	for _, v := range l.volumes {
		s := "volume " + v.id + " " + v.name
		if l.attached(v.id) {
			s += " (still attached to the proxy VM " + l.o.ProxyVMID + ")"
		}
		out = append(out, s)
	}
	return out
}
