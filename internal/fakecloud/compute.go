package fakecloud

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"rb_module_rustack/internal/api"
)

func cloneServer(s api.Server) api.Server {
	s.SecurityGroups = slices.Clone(s.SecurityGroups)
	s.Networks = slices.Clone(s.Networks)
	s.Metadata = maps.Clone(s.Metadata)
	s.VolumeIDs = slices.Clone(s.VolumeIDs)
	return s
}

func (c *Cloud) adminView(s *server) *api.Server {
	out := cloneServer(s.s)
	return &out
}

func (c *Cloud) userView(s *server) *api.Server {
	out := cloneServer(s.s)
	out.Host, out.InstanceName = "", ""
	return &out
}

// attachLocked attaches v to srv at once (status left to the caller) and
// makes the by-id link unless devices are hidden.
func (c *Cloud) attachLocked(srv *server, v *volume, root bool) {
	used := map[string]bool{}
	for _, o := range c.volumes {
		if o.server == srv.s.ID {
			used[o.device] = true
		}
	}
	dev := ""
	for i := 0; ; i++ {
		dev = "/dev/vd" + deviceSuffix(i)
		if !used[dev] {
			break
		}
	}
	v.server, v.device, v.root = srv.s.ID, dev, root
	v.v.Attachments = []api.VolumeAttachment{{AttachmentID: newID(), ServerID: srv.s.ID, Device: dev}}
	srv.s.VolumeIDs = append(srv.s.VolumeIDs, v.v.ID)
	if !c.hideDev {
		dir := c.DeviceDir(srv.s.ID)
		os.MkdirAll(dir, 0o700)
		link := filepath.Join(dir, DeviceName(v.v.ID))
		os.Remove(link)
		os.Symlink(c.VolumePath(v.v.ID), link)
	}
}

func (c *Cloud) detachLocked(v *volume) {
	if srv, ok := c.servers[v.server]; ok {
		srv.s.VolumeIDs = slices.DeleteFunc(srv.s.VolumeIDs, func(id string) bool { return id == v.v.ID })
	}
	os.Remove(filepath.Join(c.DeviceDir(v.server), DeviceName(v.v.ID)))
	v.server, v.device, v.root = "", "", false
	v.v.Attachments = nil
}

func deviceSuffix(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return deviceSuffix(i/26-1) + string(rune('a'+i%26))
}

// ListServers lists the project's servers (user view).
func (c *Cloud) ListServers(ctx context.Context) ([]api.Server, error) {
	done, err := c.call(ctx, "ListServers")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	out := make([]api.Server, 0, len(c.servers))
	for _, s := range c.servers {
		out = append(out, *c.userView(s))
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, done(nil)
}

// GetServer returns a server (user view: no Host, no InstanceName).
func (c *Cloud) GetServer(ctx context.Context, id string) (*api.Server, error) {
	done, err := c.call(ctx, "GetServer")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, ok := c.servers[id]
	var out *api.Server
	if ok {
		out = c.userView(s)
	}
	c.mu.Unlock()
	if !ok {
		return nil, notFound("server", id)
	}
	return out, done(nil)
}

// GetServerAdmin returns a server with Host and InstanceName.
func (c *Cloud) GetServerAdmin(ctx context.Context, id string) (*api.Server, error) {
	done, err := c.call(ctx, "GetServerAdmin")
	if err != nil {
		return nil, err
	}
	if c.o.NoAdmin {
		return nil, api.ErrNoAdmin
	}
	c.mu.Lock()
	s, ok := c.servers[id]
	var out *api.Server
	if ok {
		out = c.adminView(s)
	}
	c.mu.Unlock()
	if !ok {
		return nil, notFound("server", id)
	}
	return out, done(nil)
}

// CreateServer boots a server from existing volumes: BUILD, then ACTIVE
// with the volumes in-use and their links made.
func (c *Cloud) CreateServer(ctx context.Context, req api.ServerCreate) (*api.Server, error) {
	done, err := c.call(ctx, "CreateServer")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	fl, ok := c.flavors[req.FlavorID]
	if !ok {
		c.mu.Unlock()
		return nil, badRequest("Flavor %s could not be found.", req.FlavorID)
	}
	if len(req.BlockDevices) == 0 {
		c.mu.Unlock()
		return nil, badRequest("no block devices: booting from an image is not supported here")
	}
	var vols []*volume
	for _, bd := range req.BlockDevices {
		v, ok := c.volumes[bd.VolumeID]
		if !ok {
			c.mu.Unlock()
			return nil, badRequest("Block Device Mapping is Invalid: failed to get volume %s.", bd.VolumeID)
		}
		if v.v.Status != "available" || v.server != "" {
			c.mu.Unlock()
			return nil, badRequest("Block Device Mapping is Invalid: volume %s status must be available, not %s.", bd.VolumeID, v.v.Status)
		}
		if bd.BootIndex == 0 && !v.v.Bootable {
			c.mu.Unlock()
			return nil, badRequest("Block Device %s is not bootable.", bd.VolumeID)
		}
		vols = append(vols, v)
	}
	c.seq++
	nets := make([]api.Network, 0, len(req.Networks))
	for _, n := range req.Networks {
		nets = append(nets, api.Network{ID: n})
	}
	srv := &server{s: api.Server{
		ID: newID(), Name: req.Name, Status: "BUILD", ProjectID: c.o.ProjectID,
		FlavorID: fl.ID, FlavorName: fl.Name, KeyName: req.KeyName, AvailabilityZone: req.AvailabilityZone,
		SecurityGroups: slices.Clone(req.SecurityGroups), Networks: nets, Metadata: maps.Clone(req.Metadata),
		Host: c.o.Host, InstanceName: fmt.Sprintf("instance-%08x", c.seq), Created: time.Now().UTC(),
	}}
	if srv.s.Metadata == nil {
		srv.s.Metadata = map[string]string{}
	}
	c.servers[srv.s.ID] = srv
	for _, v := range vols {
		v.v.Status = "reserved"
	}
	srv.reserved = vols
	id := srv.s.ID
	out := c.userView(srv)
	c.mu.Unlock()
	c.step("server", "BUILD", func() string { return c.serverStatus(id) }, func(broken bool) {
		if broken {
			srv.s.Status = "ERROR"
			for _, v := range vols {
				v.v.Status = "available"
			}
			return
		}
		for i, v := range vols {
			c.attachLocked(srv, v, req.BlockDevices[i].BootIndex == 0)
			v.v.Status = "in-use"
		}
		srv.s.Status = "ACTIVE"
	})
	return out, done(nil)
}

func (c *Cloud) serverStatus(id string) string {
	s, ok := c.servers[id]
	if !ok {
		return ""
	}
	if s.deleting {
		return "deleting"
	}
	return s.s.Status
}

// DeleteServer deletes a server; its volumes are detached (available).
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	done, err := c.call(ctx, "DeleteServer")
	if err != nil {
		return err
	}
	c.mu.Lock()
	s, ok := c.servers[id]
	if !ok {
		c.mu.Unlock()
		return notFound("server", id)
	}
	s.deleting = true
	c.mu.Unlock()
	c.step("server", "deleting", func() string { return c.serverStatus(id) }, func(bool) {
		// A server deleted in BUILD releases the volumes it reserved.
		for _, v := range s.reserved {
			if v.server == "" && v.v.Status == "reserved" {
				v.v.Status = "available"
			}
		}
		for _, v := range c.volumes {
			if v.server == id {
				c.detachLocked(v)
				if v.v.Status == "in-use" || v.v.Status == "attaching" || v.v.Status == "reserved" || v.v.Status == "detaching" {
					v.v.Status = "available"
				}
			}
		}
		os.RemoveAll(filepath.Join(c.o.Dir, "servers", id))
		delete(c.servers, id)
	})
	return done(nil)
}

// WaitServer waits until the server reaches one of want.
func (c *Cloud) WaitServer(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Server, error) {
	done, err := c.call(ctx, "WaitServer")
	if err != nil {
		return nil, err
	}
	var last *api.Server
	err = c.wait(ctx, "server", id, timeout, false, func() (string, bool) {
		s, ok := c.servers[id]
		if !ok {
			return "", false
		}
		last = c.userView(s)
		return s.s.Status, true
	}, want...)
	if err != nil {
		return nil, err
	}
	return last, done(nil)
}

// WaitServerDeleted waits until the server is gone.
func (c *Cloud) WaitServerDeleted(ctx context.Context, id string, timeout time.Duration) error {
	done, err := c.call(ctx, "WaitServerDeleted")
	if err != nil {
		return err
	}
	err = c.wait(ctx, "server", id, timeout, true, func() (string, bool) {
		st := c.serverStatus(id)
		return st, st != ""
	})
	return done(err)
}

// ListAttachments is Nova's list of a server's volume attachments.
func (c *Cloud) ListAttachments(ctx context.Context, serverID string) ([]api.Attachment, error) {
	done, err := c.call(ctx, "ListAttachments")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, ok := c.servers[serverID]
	if !ok {
		c.mu.Unlock()
		return nil, notFound("server", serverID)
	}
	var out []api.Attachment
	for _, id := range s.s.VolumeIDs {
		if v, ok := c.volumes[id]; ok {
			out = append(out, api.Attachment{VolumeID: id, ServerID: serverID, Device: v.device})
		}
	}
	c.mu.Unlock()
	return out, done(nil)
}

// AttachVolume attaches an available volume: reserved -> attaching (the
// by-id link appears) -> in-use.
func (c *Cloud) AttachVolume(ctx context.Context, serverID, volumeID string) (*api.Attachment, error) {
	done, err := c.call(ctx, "AttachVolume")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, ok := c.servers[serverID]
	if !ok || s.deleting {
		c.mu.Unlock()
		return nil, notFound("server", serverID)
	}
	v, ok := c.volumes[volumeID]
	if !ok {
		c.mu.Unlock()
		return nil, notFound("volume", volumeID)
	}
	if v.server != "" {
		c.mu.Unlock()
		return nil, badRequest("Invalid volume: volume %s already attached", volumeID)
	}
	if v.v.Status != "available" {
		c.mu.Unlock()
		return nil, badRequest("Invalid volume: volume %s status must be available to reserve, but the status is %s.", volumeID, v.v.Status)
	}
	c.attachLocked(s, v, false)
	// The link is made at attaching time (as the harness does); hold it
	// back until then.
	link := filepath.Join(c.DeviceDir(serverID), DeviceName(volumeID))
	os.Remove(link)
	v.v.Status = "reserved"
	out := &api.Attachment{VolumeID: volumeID, ServerID: serverID, Device: v.device}
	c.mu.Unlock()
	status := func() string { return c.volumeStatus(volumeID) }
	c.step("volume", "reserved", status, func(broken bool) {
		if broken {
			c.detachLocked(v)
			v.v.Status = "error_attaching"
			return
		}
		if !c.hideDev {
			os.Symlink(c.VolumePath(volumeID), link)
		}
		v.v.Status = "attaching"
		c.step("volume", "attaching", status, func(broken bool) {
			if broken {
				c.detachLocked(v)
				v.v.Status = "error_attaching"
				return
			}
			v.v.Status = "in-use"
		})
	})
	return out, done(nil)
}

// DetachVolume detaches an in-use volume: detaching (the link goes) ->
// available. The root disk of a server cannot be detached.
func (c *Cloud) DetachVolume(ctx context.Context, serverID, volumeID string) error {
	done, err := c.call(ctx, "DetachVolume")
	if err != nil {
		return err
	}
	c.mu.Lock()
	if _, ok := c.servers[serverID]; !ok {
		c.mu.Unlock()
		return notFound("server", serverID)
	}
	v, ok := c.volumes[volumeID]
	if !ok || v.server != serverID {
		c.mu.Unlock()
		return notFound("volume attachment", serverID+"/"+volumeID)
	}
	if v.root {
		c.mu.Unlock()
		return badRequest("Cannot detach a root device volume")
	}
	if v.v.Status != "in-use" {
		c.mu.Unlock()
		return badRequest("Invalid volume: Unable to detach volume %s: status must be in-use, not %s.", volumeID, v.v.Status)
	}
	v.v.Status = "detaching"
	c.mu.Unlock()
	c.step("volume", "detaching", func() string { return c.volumeStatus(volumeID) }, func(broken bool) {
		if broken {
			v.v.Status = "error_detaching"
			return
		}
		c.detachLocked(v)
		v.v.Status = "available"
	})
	return done(nil)
}

// GetFlavor returns a flavor.
func (c *Cloud) GetFlavor(ctx context.Context, id string) (*api.Flavor, error) {
	done, err := c.call(ctx, "GetFlavor")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	f, ok := c.flavors[id]
	c.mu.Unlock()
	if !ok {
		return nil, notFound("flavor", id)
	}
	return &f, done(nil)
}

// ListFlavors lists the flavors by id.
func (c *Cloud) ListFlavors(ctx context.Context) ([]api.Flavor, error) {
	done, err := c.call(ctx, "ListFlavors")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	out := make([]api.Flavor, 0, len(c.flavors))
	for _, f := range c.flavors {
		out = append(out, f)
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, done(nil)
}

// wait polls status (read with the lock held) like api.WaitStatus, at the
// fake's poll interval.
func (c *Cloud) wait(ctx context.Context, kind, id string, timeout time.Duration, wantGone bool,
	status func() (string, bool), want ...string) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		c.mu.Lock()
		st, ok := status()
		c.mu.Unlock()
		if !ok {
			if wantGone {
				return nil
			}
			return fmt.Errorf("wait for %s %s: %w", kind, id, notFound(kind, id))
		}
		last = st
		if !wantGone && slices.Contains(want, st) {
			return nil
		}
		if strings.HasPrefix(strings.ToLower(st), "error") {
			return &api.StatusError{Kind: kind, ID: id, Want: want, Last: last}
		}
		left := time.Until(deadline)
		if left <= 0 {
			if wantGone {
				want = []string{"deleted"}
			}
			return &api.StatusError{Kind: kind, ID: id, Want: want, Last: last, Timeout: timeout, TimedOut: true}
		}
		t := time.NewTimer(min(c.o.Poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for %s %s (last status %q): %w", kind, id, last, ctx.Err())
		case <-t.C:
		}
	}
}
