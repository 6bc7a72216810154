package restore

import (
	"context"
	"io"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/journal"
)

// Cloud is the part of the cloud API a restore uses. *api.Client and
// *fakecloud.Cloud satisfy it.
type Cloud interface {
	ListServers(ctx context.Context) ([]api.Server, error)
	GetServer(ctx context.Context, id string) (*api.Server, error)
	CreateServer(ctx context.Context, req api.ServerCreate) (*api.Server, error)
	DeleteServer(ctx context.Context, id string) error
	WaitServer(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Server, error)
	WaitServerDeleted(ctx context.Context, id string, timeout time.Duration) error

	AttachVolume(ctx context.Context, serverID, volumeID string) (*api.Attachment, error)
	DetachVolume(ctx context.Context, serverID, volumeID string) error

	GetFlavor(ctx context.Context, id string) (*api.Flavor, error)
	ListFlavors(ctx context.Context) ([]api.Flavor, error)

	ListVolumes(ctx context.Context) ([]api.Volume, error)
	GetVolume(ctx context.Context, id string) (*api.Volume, error)
	CreateVolume(ctx context.Context, req api.VolumeCreate) (*api.Volume, error)
	DeleteVolume(ctx context.Context, id string) error
	SetBootable(ctx context.Context, id string, bootable bool) error
	WaitVolume(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Volume, error)
	WaitVolumeDeleted(ctx context.Context, id string, timeout time.Duration) error
}

// Catalog answers "does this still exist?" for the things a restored server
// or volume refers to by name or id. Each method is optional: a Cloud that
// also implements one of the interfaces below lets the restore check that
// item up front and replace or drop it with a note; without it the recorded
// value is used as is (and a note says it could not be checked).
type (
	// VolumeTypeLister lists the volume type names of the project.
	VolumeTypeLister interface {
		ListVolumeTypes(ctx context.Context) ([]string, error)
	}
	// VolumeZoneLister lists the available Cinder availability zones.
	VolumeZoneLister interface {
		ListVolumeAvailabilityZones(ctx context.Context) ([]string, error)
	}
	// ServerZoneLister lists the available Nova availability zones.
	ServerZoneLister interface {
		ListServerAvailabilityZones(ctx context.Context) ([]string, error)
	}
	// NetworkLister lists the networks the project can use (ID and Name set).
	NetworkLister interface {
		ListNetworks(ctx context.Context) ([]api.Network, error)
	}
	// KeyPairLister lists the key pair names of the user.
	KeyPairLister interface {
		ListKeyPairs(ctx context.Context) ([]string, error)
	}
	// SecurityGroupLister lists the security group names of the project.
	SecurityGroupLister interface {
		ListSecurityGroups(ctx context.Context) ([]string, error)
	}
)

// DiskSource writes one disk of a manifest's chain into dst.
// *archive.Repo satisfies it.
type DiskSource interface {
	RestoreDisk(ctx context.Context, m *archive.Manifest, label string, dst io.WriterAt, o archive.RestoreOptions) error
}

// Journal records a resource before it is created, so that a killed restore
// can be swept: Record (or RecordAttachment) before the create call, Created
// with the id after it, Removed once the resource is gone or belongs to the
// user (a finished restore, or --keep-partial): a sweep must never remove
// those. *journal.Journal satisfies it.
type Journal interface {
	Record(kind, name string) (int, error)
	RecordAttachment(serverID, volumeID, name string) (int, error)
	Created(id int, cloudID string) error
	Removed(id int) error
}

// Resource kinds recorded in the journal (the journal package's names).
const (
	KindVolume     = journal.KindVolume
	KindAttachment = journal.KindAttachment
	KindServer     = journal.KindServer
)

// nopJournal is used when Options.Journal is nil.
type nopJournal struct{}

func (nopJournal) Record(string, string) (int, error)                   { return 0, nil }
func (nopJournal) RecordAttachment(string, string, string) (int, error) { return 0, nil }
func (nopJournal) Created(int, string) error                            { return nil }
func (nopJournal) Removed(int) error                                    { return nil }
