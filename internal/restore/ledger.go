package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"rb_module_rustack/internal/api"
)

// MetaJob is the volume metadata key that ties a new volume to its restore
// job (and lets a sweep or an operator find it).
const MetaJob = "rb_module_rustack.job"

// ledger is what this restore created so far, in creation order, so that a
// failure can remove it in dependency order: server, attachments, volumes.
type ledger struct {
	c       Cloud
	o       *Options
	volumes []ledgerVolume
	pending []string          // volume names whose create call failed (may exist anyway)
	proxy   map[string]bool   // volume ids attached (or being attached) to the proxy
	server  string            // server id
	serverN string            // server name whose create call failed (may exist anyway)
	started time.Time         //
	done    map[string]bool   // journal entries already closed, "kind/id"
	journal map[string]string // "kind/id" -> kind, entries to close
}

type ledgerVolume struct{ id, name string }

func newLedger(c Cloud, o *Options) *ledger {
	return &ledger{c: c, o: o, proxy: map[string]bool{}, started: o.Now(),
		done: map[string]bool{}, journal: map[string]string{}}
}

func attachmentID(server, volume string) string { return server + "/" + volume }

// createVolume journals, creates and records one volume.
func (l *ledger) createVolume(ctx context.Context, req api.VolumeCreate) (*api.Volume, error) {
	if err := l.o.Journal.Intent(KindVolume, req.Name); err != nil {
		return nil, fmt.Errorf("journal volume %s: %w", req.Name, err)
	}
	v, err := l.c.CreateVolume(ctx, req)
	if err != nil {
		l.pending = append(l.pending, req.Name)
		return nil, err
	}
	l.volumes = append(l.volumes, ledgerVolume{id: v.ID, name: req.Name})
	l.journal[KindVolume+"/"+v.ID] = KindVolume
	if err := l.o.Journal.Created(KindVolume, req.Name, v.ID); err != nil {
		return v, fmt.Errorf("journal volume %s: %w", v.ID, err)
	}
	return v, nil
}

// attach journals and attaches a volume to the proxy.
func (l *ledger) attach(ctx context.Context, volumeID string) error {
	id := attachmentID(l.o.ProxyVMID, volumeID)
	if err := l.o.Journal.Intent(KindAttachment, id); err != nil {
		return fmt.Errorf("journal attachment %s: %w", id, err)
	}
	l.proxy[volumeID] = true
	l.journal[KindAttachment+"/"+id] = KindAttachment
	if _, err := l.c.AttachVolume(ctx, l.o.ProxyVMID, volumeID); err != nil {
		return fmt.Errorf("attach volume %s to the proxy VM %s: %w", volumeID, l.o.ProxyVMID, err)
	}
	if err := l.o.Journal.Created(KindAttachment, id, id); err != nil {
		return fmt.Errorf("journal attachment %s: %w", id, err)
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
	delete(l.proxy, volumeID)
	l.closeEntry(KindAttachment, attachmentID(l.o.ProxyVMID, volumeID))
	return nil
}

// createServer journals, creates and records the server.
func (l *ledger) createServer(ctx context.Context, req api.ServerCreate) (*api.Server, error) {
	if err := l.o.Journal.Intent(KindServer, req.Name); err != nil {
		return nil, fmt.Errorf("journal server %s: %w", req.Name, err)
	}
	s, err := l.c.CreateServer(ctx, req)
	if err != nil {
		l.serverN = req.Name
		return nil, err
	}
	l.server = s.ID
	l.journal[KindServer+"/"+s.ID] = KindServer
	if err := l.o.Journal.Created(KindServer, req.Name, s.ID); err != nil {
		return s, fmt.Errorf("journal server %s: %w", s.ID, err)
	}
	return s, nil
}

func (l *ledger) closeEntry(kind, id string) {
	k := kind + "/" + id
	if l.done[k] {
		return
	}
	// A journal that cannot be updated leaves an entry a sweep will find
	// and check against the cloud; not worth failing the restore for.
	_ = l.o.Journal.Done(kind, id)
	l.done[k] = true
	delete(l.journal, k)
}

// handOver closes every journal entry: the resources now belong to the user.
func (l *ledger) handOver() {
	keys := make([]string, 0, len(l.journal))
	for k := range l.journal {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kind, id, _ := strings.Cut(k, "/")
		l.closeEntry(kind, id)
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

	// A server whose create call failed may still have been created.
	if l.server == "" && l.serverN != "" {
		if servers, err := l.c.ListServers(ctx); err == nil {
			for _, s := range servers {
				if s.Name == l.serverN && !s.Created.Before(l.started.Add(-time.Minute)) {
					l.server = s.ID
				}
			}
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
			l.closeEntry(KindServer, l.server)
		}
	}

	// Volumes whose create call failed may exist: find them by name and job.
	if len(l.pending) > 0 {
		if vols, err := l.c.ListVolumes(ctx); err == nil {
			for _, v := range vols {
				if slices.Contains(l.pending, v.Name) && (l.o.JobID == "" || v.Metadata[MetaJob] == l.o.JobID) &&
					!slices.ContainsFunc(l.volumes, func(x ledgerVolume) bool { return x.id == v.ID }) {
					l.volumes = append(l.volumes, ledgerVolume{id: v.ID, name: v.Name})
				}
			}
		}
	}

	for _, v := range l.volumes {
		if !l.proxy[v.id] {
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
		}
	}
	return left
}

func (l *ledger) detachForRollback(ctx context.Context, volumeID string) error {
	// Let an attach in flight settle first: Cinder refuses to detach a
	// volume that is still "attaching".
	v, err := l.c.WaitVolume(ctx, volumeID, l.o.AttachTimeout, "in-use", "available")
	if api.IsNotFound(err) {
		l.closeEntry(KindAttachment, attachmentID(l.o.ProxyVMID, volumeID))
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status == "available" && !slices.ContainsFunc(v.Attachments, func(a api.VolumeAttachment) bool {
		return a.ServerID == l.o.ProxyVMID
	}) {
		delete(l.proxy, volumeID)
		l.closeEntry(KindAttachment, attachmentID(l.o.ProxyVMID, volumeID))
		return nil
	}
	return l.detach(ctx, volumeID)
}

func (l *ledger) deleteVolume(ctx context.Context, id string) error {
	// A volume still being created cannot be deleted yet; an error* one can.
	_, err := l.c.WaitVolume(ctx, id, l.o.VolumeTimeout, "available")
	var se *api.StatusError
	switch {
	case api.IsNotFound(err):
		l.closeEntry(KindVolume, id)
		return nil
	case err != nil && !(errors.As(err, &se) && !se.TimedOut):
		return err
	}
	if err := l.c.DeleteVolume(ctx, id); err != nil && !api.IsNotFound(err) {
		return err
	}
	if err := l.c.WaitVolumeDeleted(ctx, id, l.o.VolumeTimeout); err != nil {
		return err
	}
	l.closeEntry(KindVolume, id)
	return nil
}

// kept lists what a failed restore leaves in place with KeepPartial.
func (l *ledger) kept() []string {
	var out []string
	if l.server != "" {
		out = append(out, "server "+l.server)
	}
	for _, v := range l.volumes {
		s := "volume " + v.id + " " + v.name
		if l.proxy[v.id] {
			s += " (still attached to the proxy VM " + l.o.ProxyVMID + ")"
		}
		out = append(out, s)
	}
	return out
}
