package api

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// ListVolumes lists every volume of the project (all pages).
func (c *Client) ListVolumes(ctx context.Context) ([]Volume, error) {
	pages, err := volumes.List(c.user.volume, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list volumes", err)
	}
	list, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, wrap("list volumes: read the answer", err)
	}
	out := make([]Volume, 0, len(list))
	for i := range list {
		out = append(out, toVolume(&list[i]))
	}
	return out, nil
}

// GetVolume reads one volume.
func (c *Client) GetVolume(ctx context.Context, id string) (*Volume, error) {
	if id == "" {
		return nil, fmt.Errorf("get volume: empty id")
	}
	v, err := volumes.Get(ctx, c.user.volume, id).Extract()
	if err != nil {
		return nil, wrap("get volume "+id, err)
	}
	vol := toVolume(v)
	return &vol, nil
}

// CreateVolume creates an empty volume or one from a snapshot. It is never
// retried (POST).
func (c *Client) CreateVolume(ctx context.Context, req VolumeCreate) (*Volume, error) {
	v, err := volumes.Create(ctx, c.user.volume, volumes.CreateOpts{
		Name:             req.Name,
		Description:      req.Description,
		Size:             req.Size,
		SnapshotID:       req.SnapshotID,
		VolumeType:       req.VolumeType,
		AvailabilityZone: req.AvailabilityZone,
		Metadata:         req.Metadata,
	}, nil).Extract()
	if err != nil {
		what := fmt.Sprintf("create volume %q (%d GiB", req.Name, req.Size)
		if req.SnapshotID != "" {
			what += " from snapshot " + req.SnapshotID
		}
		return nil, wrap(what+")", err)
	}
	vol := toVolume(v)
	return &vol, nil
}

// DeleteVolume asks Cinder to delete a volume; WaitVolumeDeleted waits.
func (c *Client) DeleteVolume(ctx context.Context, id string) error {
	return wrap("delete volume "+id, volumes.Delete(ctx, c.user.volume, id, nil).ExtractErr())
}

// SetBootable marks a volume bootable (or not); allowed for members.
func (c *Client) SetBootable(ctx context.Context, id string, bootable bool) error {
	err := volumes.SetBootable(ctx, c.user.volume, id, volumes.BootableOpts{Bootable: bootable}).ExtractErr()
	return wrap(fmt.Sprintf("set volume %s bootable=%t", id, bootable), err)
}

// WaitVolume polls a volume until its status is one of want; error*
// statuses fail at once.
func (c *Client) WaitVolume(ctx context.Context, id string, timeout time.Duration, want ...string) (*Volume, error) {
	var last *volumes.Volume
	err := WaitStatus(ctx, "volume", id, timeout, false, func(ctx context.Context) (string, error) {
		v, err := volumes.Get(ctx, c.user.volume, id).Extract()
		if err != nil {
			return "", wrap("get volume "+id, err)
		}
		last = v
		return v.Status, nil
	}, want...)
	if err != nil {
		return nil, err
	}
	vol := toVolume(last)
	return &vol, nil
}

// WaitVolumeDeleted polls until the volume answers 404.
func (c *Client) WaitVolumeDeleted(ctx context.Context, id string, timeout time.Duration) error {
	return WaitStatus(ctx, "volume", id, timeout, true, func(ctx context.Context) (string, error) {
		v, err := volumes.Get(ctx, c.user.volume, id).Extract()
		if err != nil {
			return "", wrap("get volume "+id, err)
		}
		return v.Status, nil
	})
}

func toVolume(v *volumes.Volume) Volume {
	out := Volume{
		ID:               v.ID,
		Name:             v.Name,
		Description:      v.Description,
		Status:           v.Status,
		Size:             v.Size,
		VolumeType:       v.VolumeType,
		AvailabilityZone: v.AvailabilityZone,
		Bootable:         strings.EqualFold(v.Bootable, "true"),
		SnapshotID:       v.SnapshotID,
		Metadata:         v.Metadata,
		Created:          v.CreatedAt,
	}
	for _, a := range v.Attachments {
		out.Attachments = append(out.Attachments, VolumeAttachment{
			AttachmentID: a.AttachmentID, ServerID: a.ServerID, Device: a.Device,
		})
	}
	return out
}

// ListSnapshots lists every snapshot of the project (all pages).
func (c *Client) ListSnapshots(ctx context.Context) ([]Snapshot, error) {
	pages, err := snapshots.ListDetail(c.user.volume, snapshots.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list snapshots", err)
	}
	list, err := snapshots.ExtractSnapshots(pages)
	if err != nil {
		return nil, wrap("list snapshots: read the answer", err)
	}
	out := make([]Snapshot, 0, len(list))
	for i := range list {
		out = append(out, toSnapshot(&list[i]))
	}
	return out, nil
}

// GetSnapshot reads one snapshot.
func (c *Client) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	if id == "" {
		return nil, fmt.Errorf("get snapshot: empty id")
	}
	s, err := snapshots.Get(ctx, c.user.volume, id).Extract()
	if err != nil {
		return nil, wrap("get snapshot "+id, err)
	}
	sn := toSnapshot(s)
	return &sn, nil
}

// CreateSnapshot snapshots a volume. Set req.Force for an in-use volume:
// before Cinder 3.66 that is required, and from 3.66 "force": true is
// accepted and ignored. It is never retried (POST).
func (c *Client) CreateSnapshot(ctx context.Context, req SnapshotCreate) (*Snapshot, error) {
	s, err := snapshots.Create(ctx, c.user.volume, snapshots.CreateOpts{
		VolumeID:    req.VolumeID,
		Force:       req.Force,
		Name:        req.Name,
		Description: req.Description,
		Metadata:    req.Metadata,
	}).Extract()
	if err != nil {
		return nil, wrap(fmt.Sprintf("create snapshot %q of volume %s", req.Name, req.VolumeID), err)
	}
	sn := toSnapshot(s)
	return &sn, nil
}

// DeleteSnapshot asks Cinder to delete a snapshot; WaitSnapshotDeleted waits.
func (c *Client) DeleteSnapshot(ctx context.Context, id string) error {
	return wrap("delete snapshot "+id, snapshots.Delete(ctx, c.user.volume, id).ExtractErr())
}

// WaitSnapshot polls a snapshot until its status is one of want; error*
// statuses fail at once.
func (c *Client) WaitSnapshot(ctx context.Context, id string, timeout time.Duration, want ...string) (*Snapshot, error) {
	var last *snapshots.Snapshot
	err := WaitStatus(ctx, "snapshot", id, timeout, false, func(ctx context.Context) (string, error) {
		s, err := snapshots.Get(ctx, c.user.volume, id).Extract()
		if err != nil {
			return "", wrap("get snapshot "+id, err)
		}
		last = s
		return s.Status, nil
	}, want...)
	if err != nil {
		return nil, err
	}
	sn := toSnapshot(last)
	return &sn, nil
}

// WaitSnapshotDeleted polls until the snapshot answers 404.
func (c *Client) WaitSnapshotDeleted(ctx context.Context, id string, timeout time.Duration) error {
	return WaitStatus(ctx, "snapshot", id, timeout, true, func(ctx context.Context) (string, error) {
		s, err := snapshots.Get(ctx, c.user.volume, id).Extract()
		if err != nil {
			return "", wrap("get snapshot "+id, err)
		}
		return s.Status, nil
	})
}

func toSnapshot(s *snapshots.Snapshot) Snapshot {
	return Snapshot{
		ID:          s.ID,
		Name:        s.Name,
		Description: s.Description,
		Status:      s.Status,
		VolumeID:    s.VolumeID,
		Size:        s.Size,
		Metadata:    s.Metadata,
		Created:     s.CreatedAt,
	}
}

// PingCompute makes one cheap authenticated read of Nova (a server list
// limited to one item); `-t` uses it.
func (c *Client) PingCompute(ctx context.Context) error {
	_, err := c.user.compute.Get(ctx, c.user.compute.ServiceURL("servers")+"?limit=1", nil, nil)
	return wrap("Nova: list servers (limit 1) at "+c.user.compute.Endpoint, err)
}

// PingVolume makes one cheap authenticated read of Cinder.
func (c *Client) PingVolume(ctx context.Context) error {
	_, err := c.user.volume.Get(ctx, c.user.volume.ServiceURL("volumes")+"?limit=1", nil, nil)
	return wrap("Cinder: list volumes (limit 1) at "+c.user.volume.Endpoint, err)
}
