package fakecloud

import (
	"context"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"rb_module_rustack/internal/api"
)

func cloneVolume(v api.Volume) api.Volume {
	v.Metadata = maps.Clone(v.Metadata)
	v.Attachments = slices.Clone(v.Attachments)
	return v
}

func (c *Cloud) volumeStatus(id string) string {
	v, ok := c.volumes[id]
	if !ok {
		return ""
	}
	return v.v.Status
}

func (c *Cloud) snapshotStatus(id string) string {
	s, ok := c.snapshots[id]
	if !ok {
		return ""
	}
	return s.s.Status
}

// ListVolumes lists the project's volumes.
func (c *Cloud) ListVolumes(ctx context.Context) ([]api.Volume, error) {
	done, err := c.call(ctx, "ListVolumes")
	if err != nil {
		return nil, err
	}
	return c.Volumes(), done(nil)
}

// GetVolume returns a volume.
func (c *Cloud) GetVolume(ctx context.Context, id string) (*api.Volume, error) {
	done, err := c.call(ctx, "GetVolume")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	v, ok := c.volumes[id]
	var out api.Volume
	if ok {
		out = cloneVolume(v.v)
	}
	c.mu.Unlock()
	if !ok {
		return nil, notFound("volume", id)
	}
	return &out, done(nil)
}

// CreateVolume creates an empty volume or one from a snapshot (a sparse
// copy grown to the size): creating -> available.
func (c *Cloud) CreateVolume(ctx context.Context, req api.VolumeCreate) (*api.Volume, error) {
	done, err := c.call(ctx, "CreateVolume")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.o.MaxVolumes > 0 && len(c.volumes) >= c.o.MaxVolumes {
		c.mu.Unlock()
		return nil, &HTTPError{Code: 413, Message: "VolumeLimitExceeded: Maximum number of volumes allowed exceeded for quota 'volumes'."}
	}
	size := req.Size
	var src string
	if req.SnapshotID != "" {
		s, ok := c.snapshots[req.SnapshotID]
		if !ok {
			c.mu.Unlock()
			return nil, notFound("snapshot", req.SnapshotID)
		}
		if s.s.Status != "available" {
			c.mu.Unlock()
			return nil, badRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values")
		}
		if size == 0 {
			size = s.s.Size
		}
		if size < s.s.Size {
			c.mu.Unlock()
			return nil, badRequest("Invalid input received: Volume size '%d' must be an integer and greater than 0 and at least the snapshot size %d", size, s.s.Size)
		}
		src = c.SnapshotPath(req.SnapshotID)
	}
	if size <= 0 {
		c.mu.Unlock()
		return nil, badRequest("Invalid input received: Volume size '%d' must be an integer and greater than 0", size)
	}
	typ := req.VolumeType
	if typ == "" {
		typ = "fake"
	}
	v := &volume{v: api.Volume{
		ID: newID(), Name: req.Name, Description: req.Description, Status: "creating", Size: size,
		VolumeType: typ, AvailabilityZone: req.AvailabilityZone, SnapshotID: req.SnapshotID,
		Metadata: maps.Clone(req.Metadata), Created: time.Now().UTC(),
	}}
	if v.v.AvailabilityZone == "" {
		v.v.AvailabilityZone = "nova"
	}
	if v.v.Metadata == nil {
		v.v.Metadata = map[string]string{}
	}
	id := v.v.ID
	c.volumes[id] = v
	out := cloneVolume(v.v)
	c.mu.Unlock()
	c.step("volume", "creating", func() string { return c.volumeStatus(id) }, func(broken bool) {
		if broken {
			v.v.Status = "error"
			return
		}
		var err error
		if src != "" {
			err = copySparse(c.VolumePath(id), src, int64(size)*c.o.Unit)
		} else {
			err = c.writeVolumeFile(id, int64(size)*c.o.Unit, nil)
		}
		if err != nil {
			v.v.Status = "error"
			return
		}
		v.v.Status = "available"
	})
	return &out, done(nil)
}

// DeleteVolume deletes an available (or error*) volume that is neither
// attached nor has snapshots: deleting -> gone.
func (c *Cloud) DeleteVolume(ctx context.Context, id string) error {
	done, err := c.call(ctx, "DeleteVolume")
	if err != nil {
		return err
	}
	c.mu.Lock()
	v, ok := c.volumes[id]
	if !ok {
		c.mu.Unlock()
		return notFound("volume", id)
	}
	st := v.v.Status
	if v.server != "" || !(st == "available" || strings.HasPrefix(st, "error")) {
		c.mu.Unlock()
		return badRequest("Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer (volume %s is %s).", id, st)
	}
	for _, s := range c.snapshots {
		if s.s.VolumeID == id {
			c.mu.Unlock()
			return badRequest("Invalid volume: Volume %s still has 1 dependent snapshots.", id)
		}
	}
	v.v.Status = "deleting"
	c.mu.Unlock()
	c.step("volume", "deleting", func() string { return c.volumeStatus(id) }, func(broken bool) {
		if broken {
			v.v.Status = "error_deleting"
			return
		}
		os.Remove(c.VolumePath(id))
		delete(c.volumes, id)
	})
	return done(nil)
}

// SetBootable sets a volume's bootable flag.
func (c *Cloud) SetBootable(ctx context.Context, id string, bootable bool) error {
	done, err := c.call(ctx, "SetBootable")
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.volumes[id]
	if !ok {
		return notFound("volume", id)
	}
	v.v.Bootable = bootable
	return done(nil)
}

// WaitVolume waits until the volume reaches one of want.
func (c *Cloud) WaitVolume(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Volume, error) {
	done, err := c.call(ctx, "WaitVolume")
	if err != nil {
		return nil, err
	}
	var last api.Volume
	err = c.wait(ctx, "volume", id, timeout, false, func() (string, bool) {
		v, ok := c.volumes[id]
		if !ok {
			return "", false
		}
		last = cloneVolume(v.v)
		return v.v.Status, true
	}, want...)
	if err != nil {
		return nil, err
	}
	return &last, done(nil)
}

// WaitVolumeDeleted waits until the volume is gone.
func (c *Cloud) WaitVolumeDeleted(ctx context.Context, id string, timeout time.Duration) error {
	done, err := c.call(ctx, "WaitVolumeDeleted")
	if err != nil {
		return err
	}
	return done(c.wait(ctx, "volume", id, timeout, true, func() (string, bool) {
		st := c.volumeStatus(id)
		return st, st != ""
	}))
}

// ListSnapshots lists the project's snapshots.
func (c *Cloud) ListSnapshots(ctx context.Context) ([]api.Snapshot, error) {
	done, err := c.call(ctx, "ListSnapshots")
	if err != nil {
		return nil, err
	}
	out := c.Snapshots()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, done(nil)
}

// GetSnapshot returns a snapshot.
func (c *Cloud) GetSnapshot(ctx context.Context, id string) (*api.Snapshot, error) {
	done, err := c.call(ctx, "GetSnapshot")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s, ok := c.snapshots[id]
	var out api.Snapshot
	if ok {
		out = s.s
		out.Metadata = maps.Clone(out.Metadata)
	}
	c.mu.Unlock()
	if !ok {
		return nil, notFound("snapshot", id)
	}
	return &out, done(nil)
}

// CreateSnapshot copies the volume's bytes now (the point in time) and
// goes creating -> available. An in-use volume needs Force.
func (c *Cloud) CreateSnapshot(ctx context.Context, req api.SnapshotCreate) (*api.Snapshot, error) {
	done, err := c.call(ctx, "CreateSnapshot")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.o.MaxSnapshots > 0 && len(c.snapshots) >= c.o.MaxSnapshots {
		return nil, &HTTPError{Code: 413, Message: "SnapshotLimitExceeded: Maximum number of snapshots allowed exceeded"}
	}
	v, ok := c.volumes[req.VolumeID]
	if !ok {
		return nil, notFound("volume", req.VolumeID)
	}
	switch {
	case v.v.Status == "available":
	case v.v.Status == "in-use" && req.Force:
	default:
		return nil, badRequest("Invalid volume: Volume %s status must be available, but current status is: %s (use force for in-use volumes).", req.VolumeID, v.v.Status)
	}
	s := &snapshot{s: api.Snapshot{
		ID: newID(), Name: req.Name, Description: req.Description, Status: "creating",
		VolumeID: req.VolumeID, Size: v.v.Size, Metadata: maps.Clone(req.Metadata), Created: time.Now().UTC(),
	}}
	if err := copySparse(c.SnapshotPath(s.s.ID), c.VolumePath(v.v.ID), int64(v.v.Size)*c.o.Unit); err != nil {
		return nil, &HTTPError{Code: 500, Message: "snapshot copy: " + err.Error()}
	}
	id := s.s.ID
	c.snapshots[id] = s
	status := func() string { return c.snapshotStatus(id) }
	c.mu.Unlock()
	c.step("snapshot", "creating", status, func(broken bool) {
		if broken {
			s.s.Status = "error"
			return
		}
		s.s.Status = "available"
	})
	c.mu.Lock()
	out := s.s
	out.Metadata = maps.Clone(out.Metadata)
	return &out, done(nil)
}

// DeleteSnapshot deletes an available (or error) snapshot: deleting -> gone.
func (c *Cloud) DeleteSnapshot(ctx context.Context, id string) error {
	done, err := c.call(ctx, "DeleteSnapshot")
	if err != nil {
		return err
	}
	c.mu.Lock()
	s, ok := c.snapshots[id]
	if !ok {
		c.mu.Unlock()
		return notFound("snapshot", id)
	}
	if st := s.s.Status; st != "available" && st != "error" {
		c.mu.Unlock()
		return badRequest("Invalid snapshot: Snapshot status must be available or error, not %s", st)
	}
	s.s.Status = "deleting"
	c.mu.Unlock()
	c.step("snapshot", "deleting", func() string { return c.snapshotStatus(id) }, func(broken bool) {
		if broken {
			s.s.Status = "error_deleting"
			return
		}
		os.Remove(c.SnapshotPath(id))
		delete(c.snapshots, id)
	})
	return done(nil)
}

// WaitSnapshot waits until the snapshot reaches one of want.
func (c *Cloud) WaitSnapshot(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Snapshot, error) {
	done, err := c.call(ctx, "WaitSnapshot")
	if err != nil {
		return nil, err
	}
	var last api.Snapshot
	err = c.wait(ctx, "snapshot", id, timeout, false, func() (string, bool) {
		s, ok := c.snapshots[id]
		if !ok {
			return "", false
		}
		last = s.s
		return s.s.Status, true
	}, want...)
	if err != nil {
		return nil, err
	}
	last.Metadata = maps.Clone(last.Metadata)
	return &last, done(nil)
}

// WaitSnapshotDeleted waits until the snapshot is gone.
func (c *Cloud) WaitSnapshotDeleted(ctx context.Context, id string, timeout time.Duration) error {
	done, err := c.call(ctx, "WaitSnapshotDeleted")
	if err != nil {
		return err
	}
	return done(c.wait(ctx, "snapshot", id, timeout, true, func() (string, bool) {
		st := c.snapshotStatus(id)
		return st, st != ""
	}))
}
