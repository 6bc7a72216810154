package deploy

import (
	"context"
	"time"

	"rb_module_rustack/internal/api"
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
