package deploy

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/blockdev"
	"rb_module_rustack/internal/restore"
)

// Options drive one restore into the cloud.
type Options struct {
	Cloud    Cloud
	Source   restore.DiskSource
	Manifest *archive.Manifest
	VM       *restore.VM // nil = restore.VMFromManifest(Manifest)

	ProxyVMID string          // rubackup-vm-id: the VM this module runs in
	Devices   blockdev.Finder // where attached volumes appear on the proxy

	VolumeTimeout time.Duration // volume creation and deletion (volume_creation_timeout)
	AttachTimeout time.Duration // attach, device, detach (volume_attachment_timeout)
	ServerTimeout time.Duration // server ACTIVE and deleted
	Unit          int64         // bytes per volume size unit: 0 = 1 GiB (Cinder); tests use less
	// Settle is how long a rollback watches for a resource whose create or
	// attach call was cut off (signal, lost connection): the cloud may carry
	// it out after the call ended. 0 = 10 s.
	Settle time.Duration
	// DiskParallelism is how many disks are attached to the proxy and
	// written at once (disk_parallelism); 0 = 2.
	DiskParallelism int

	restore.Overrides
	Disk string // VolumeOnly: the label of the disk to restore

	// SkipZeroWrites leaves the archive's holes unwritten. Only safe when
	// the backend's new volumes read as zeros (thin LVM, Ceph RBD, sparse
	// files); otherwise old data of the backend could show through.
	SkipZeroWrites bool
	// PlainZeroWrites writes the zeros as bytes even where the kernel could
	// zero the range (fallocate FALLOC_FL_ZERO_RANGE, see deviceWriter):
	// for measurements and for devices that mishandle it.
	PlainZeroWrites bool
	// KeepPartial keeps what a failed restore created (for inspection)
	// instead of removing it; the journal then forgets it, so no sweep
	// removes it either.
	KeepPartial bool

	Journal  Journal          // nil = no journal (tests)
	JobID    string           // tags the new volumes (metadata rb_module_rustack.job)
	Progress func(Event)      // nil = quiet; calls are serialized
	Now      func() time.Time // nil = time.Now
}

// Event reports progress. Stage is one of "plan", "volume", "attach",
// "write", "detach", "server", "rollback", "done".
type Event struct {
	Stage string
	Disk  string // label, when the event is about one disk
	Done  int64  // bytes written so far (write)
	Total int64  // bytes to write (write)
	Msg   string
}

// Result describes what a restore created (or, after a failure with
// KeepPartial, what it left in place).
type Result struct {
	Archive        string           `json:"archive"`
	ServerID       string           `json:"server_id,omitempty"`
	ServerName     string           `json:"server_name,omitempty"`
	Flavor         string           `json:"flavor,omitempty"`
	Networks       []string         `json:"networks,omitempty"`
	Volumes        []RestoredVolume `json:"volumes"`
	Notes          []string         `json:"notes,omitempty"`
	Bytes          int64            `json:"bytes"`         // logical bytes of the restored disks
	WriteSeconds   float64          `json:"write_seconds"` // from the first write to the last flush (disks overlap)
	ZeroedBytes    int64            `json:"zeroed_bytes"`  // zero ranges the kernel zeroed instead of writing
	Seconds        float64          `json:"seconds"`       // whole restore
	SkipZeroWrites bool             `json:"skip_zero_writes"`
	Partial        bool             `json:"partial,omitempty"` // failed, and KeepPartial kept these
}

// RestoredVolume is one new volume.
type RestoredVolume struct {
	Label            string  `json:"label"`
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	SizeGiB          int     `json:"size_gb"`
	VolumeType       string  `json:"volume_type,omitempty"`
	AvailabilityZone string  `json:"availability_zone,omitempty"`
	Bootable         bool    `json:"bootable"`
	BootIndex        int     `json:"boot_index"`
	Bytes            int64   `json:"bytes"`
	WriteSeconds     float64 `json:"write_seconds"`
	ZeroedBytes      int64   `json:"zeroed_bytes"`
}

// MBps is the write throughput in MB/s (10^6 bytes), 0 when unknown.
func (r *Result) MBps() float64 {
	if r.WriteSeconds <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.WriteSeconds
}

func (o *Options) check(needProxy bool) error {
	var miss []string
	if o.Cloud == nil {
		miss = append(miss, "Cloud")
	}
	if o.Source == nil {
		miss = append(miss, "Source")
	}
	if o.Manifest == nil {
		miss = append(miss, "Manifest")
	}
	if needProxy && o.ProxyVMID == "" {
		miss = append(miss, "ProxyVMID (rubackup-vm-id)")
	}
	if len(miss) > 0 {
		return fmt.Errorf("restore: missing %s", strings.Join(miss, ", "))
	}
	if err := checkNoneAlone("--network", o.Networks); err != nil {
		return err
	}
	return checkNoneAlone("--security-group", o.SecurityGroups)
}

func checkNoneAlone(flag string, vals []string) error {
	for _, v := range vals {
		if strings.EqualFold(v, restore.None) && len(vals) > 1 {
			return fmt.Errorf("%s none cannot be combined with other %s values", flag, flag)
		}
		if strings.TrimSpace(v) == "" {
			return errors.New(flag + " needs a value")
		}
	}
	return nil
}

func (o *Options) defaults() {
	if o.VolumeTimeout <= 0 {
		o.VolumeTimeout = 300 * time.Second
	}
	if o.AttachTimeout <= 0 {
		o.AttachTimeout = 300 * time.Second
	}
	if o.ServerTimeout <= 0 {
		o.ServerTimeout = 300 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 10 * time.Second
	}
	if o.Unit <= 0 {
		o.Unit = restore.GiB
	}
	if o.Journal == nil {
		o.Journal = nopJournal{}
	}
	if o.DiskParallelism <= 0 {
		o.DiskParallelism = 2
	}
	if o.Progress == nil {
		o.Progress = func(Event) {}
	} else {
		var mu sync.Mutex
		p := o.Progress
		o.Progress = func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			p(e)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// prepare fills in the defaults, checks the options of a restore into the
// cloud (Deploy, VolumeOnly: the proxy VM is needed) and reads the VM
// description.
func (o *Options) prepare() (*restore.VM, error) {
	o.defaults()
	if err := o.check(true); err != nil {
		return nil, err
	}
	return o.vm()
}

// vm returns the VM to restore, checked against the manifest's disks.
func (o *Options) vm() (*restore.VM, error) { return restore.ForManifest(o.Manifest, o.VM) }

func (o *Options) planOptions() restore.PlanOptions {
	return restore.PlanOptions{Overrides: o.Overrides, Unit: o.Unit, ArchiveVMName: o.Manifest.VMName}
}
