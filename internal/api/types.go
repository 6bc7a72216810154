package api

import (
	"context"
	"time"
)

// Server is the part of a Nova server the module needs. Host and
// InstanceName are visible only to an admin session.
type Server struct {
	ID               string
	Name             string
	Status           string // ACTIVE, SHUTOFF, BUILD, ERROR, ...
	ProjectID        string
	FlavorID         string
	FlavorName       string
	KeyName          string
	AvailabilityZone string
	SecurityGroups   []string          // names
	Networks         []Network         // from os-interface, or addresses
	Metadata         map[string]string //
	VolumeIDs        []string          // os-extended-volumes:volumes_attached
	Host             string            // OS-EXT-SRV-ATTR:host (admin only)
	InstanceName     string            // OS-EXT-SRV-ATTR:instance_name (admin only)
	Created          time.Time
}

// Network is one network of a server.
type Network struct {
	ID      string // network uuid when known
	Name    string
	FixedIP string
}

// Volume is the part of a Cinder volume the module needs.
type Volume struct {
	ID               string
	Name             string
	Description      string
	Status           string // creating, available, in-use, error, ...
	Size             int    // GiB
	VolumeType       string
	AvailabilityZone string
	Bootable         bool
	SnapshotID       string
	Metadata         map[string]string
	Attachments      []VolumeAttachment
	Created          time.Time
}

// VolumeAttachment is Cinder's view of one attachment of a volume.
type VolumeAttachment struct {
	AttachmentID string
	ServerID     string
	Device       string
}

// Snapshot is a Cinder snapshot.
type Snapshot struct {
	ID          string
	Name        string
	Description string
	Status      string
	VolumeID    string
	Size        int
	Metadata    map[string]string
	Created     time.Time
}

// Attachment is Nova's view of a volume attached to a server.
type Attachment struct {
	VolumeID string
	ServerID string
	Device   string // unreliable; never used to find the block device
}

// Flavor is a Nova flavor.
type Flavor struct {
	ID    string
	Name  string
	VCPUs int
	RAM   int // MiB
	Disk  int // GiB
}

// VolumeCreate describes a new volume: empty (Size only) or from a snapshot.
type VolumeCreate struct {
	Name             string
	Description      string
	Size             int // GiB
	SnapshotID       string
	VolumeType       string
	AvailabilityZone string
	Metadata         map[string]string
}

// SnapshotCreate describes a new snapshot; Force allows in-use volumes.
type SnapshotCreate struct {
	VolumeID    string
	Name        string
	Description string
	Force       bool
	Metadata    map[string]string
}

// BlockDevice is one volume of a server to boot, in boot order.
type BlockDevice struct {
	VolumeID  string
	BootIndex int // 0 = boot disk; -1 = not bootable, attached only
}

// ServerCreate describes a server booted from existing volumes.
type ServerCreate struct {
	Name             string
	FlavorID         string
	Networks         []string // network ids; empty = "none"
	KeyName          string
	SecurityGroups   []string
	Metadata         map[string]string
	AvailabilityZone string
	BlockDevices     []BlockDevice
}

// Cloud is every call the module makes. *Client satisfies it; consumers
// declare the subsets they need (snapshot.Cloud, restore.Cloud), which the
// fake cloud satisfies too. Wait* calls poll until the resource reaches one
// of want, fail fast on an error* status (naming the last status), and fail
// when timeout passes; WaitVolumeDeleted/WaitSnapshotDeleted wait for 404.
// A missing resource gives an error for which IsNotFound is true.
type Cloud interface {
	ListServers(ctx context.Context) ([]Server, error)
	GetServer(ctx context.Context, id string) (*Server, error)
	// GetServerAdmin is GetServer through the admin session (Host and
	// InstanceName filled); ErrNoAdmin when no admin account is configured.
	GetServerAdmin(ctx context.Context, id string) (*Server, error)
	CreateServer(ctx context.Context, req ServerCreate) (*Server, error)
	DeleteServer(ctx context.Context, id string) error
	WaitServer(ctx context.Context, id string, timeout time.Duration, want ...string) (*Server, error)
	WaitServerDeleted(ctx context.Context, id string, timeout time.Duration) error

	ListAttachments(ctx context.Context, serverID string) ([]Attachment, error)
	AttachVolume(ctx context.Context, serverID, volumeID string) (*Attachment, error)
	DetachVolume(ctx context.Context, serverID, volumeID string) error

	GetFlavor(ctx context.Context, id string) (*Flavor, error)
	ListFlavors(ctx context.Context) ([]Flavor, error)

	ListVolumes(ctx context.Context) ([]Volume, error)
	GetVolume(ctx context.Context, id string) (*Volume, error)
	CreateVolume(ctx context.Context, req VolumeCreate) (*Volume, error)
	DeleteVolume(ctx context.Context, id string) error
	SetBootable(ctx context.Context, id string, bootable bool) error
	WaitVolume(ctx context.Context, id string, timeout time.Duration, want ...string) (*Volume, error)
	WaitVolumeDeleted(ctx context.Context, id string, timeout time.Duration) error

	ListSnapshots(ctx context.Context) ([]Snapshot, error)
	GetSnapshot(ctx context.Context, id string) (*Snapshot, error)
	CreateSnapshot(ctx context.Context, req SnapshotCreate) (*Snapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
	WaitSnapshot(ctx context.Context, id string, timeout time.Duration, want ...string) (*Snapshot, error)
	WaitSnapshotDeleted(ctx context.Context, id string, timeout time.Duration) error
}
