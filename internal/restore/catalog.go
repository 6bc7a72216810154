package restore

import (
	"context"

	"rb_module_rustack/internal/api"
)

// Catalog is the part of the cloud a plan reads: the servers (for a free
// name) and the flavors. *api.Client and *fakecloud.Cloud satisfy it.
type Catalog interface {
	ListServers(ctx context.Context) ([]api.Server, error)
	GetFlavor(ctx context.Context, id string) (*api.Flavor, error)
	ListFlavors(ctx context.Context) ([]api.Flavor, error)
}

// The optional listers answer "does this still exist?" for the things a restored server
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

// None is the value of an override that removes the item: --network none,
// --key-name none, --security-group none.
const None = "none"

// Overrides replace what the VM description recorded. The zero value keeps
// everything as recorded.
type Overrides struct {
	Name                   string            // server name, used as given ("" = the recorded name, or <name>-N if taken)
	Flavor                 string            // flavor id or name
	Networks               []string          // network ids (or names); [None] = no network; nil = recorded
	KeyName                string            // key pair; None = no key pair; "" = recorded
	SecurityGroups         []string          // names; [None] = none; nil = recorded
	NoMetadata             bool              // do not copy the recorded server metadata
	Metadata               map[string]string // added to (or replacing) the recorded metadata
	AvailabilityZone       string            // server availability zone; "" = recorded
	VolumeType             string            // for every new volume; "" = recorded
	VolumeAvailabilityZone string            // for every new volume; "" = recorded
	VolumeName             string            // VolumeOnly: the new volume's name ("" = <vm>-<label>-restored-<date>)
}
