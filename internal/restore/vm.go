package restore

import (
	"cmp"
	"slices"

	"rb_module_rustack/internal/api"
)

// GiB is Cinder's size unit.
const GiB = int64(1) << 30

// VM is what a restore needs to know about the backed-up VM. It is built
// from the manifest (its disks) and the VM description the backup stored.
type VM struct {
	ID               string
	Name             string
	FlavorID         string
	FlavorName       string
	KeyName          string
	AvailabilityZone string
	SecurityGroups   []string
	Networks         []api.Network
	Metadata         map[string]string
	Disks            []Disk // in boot order (see sortDisks)
}

// Disk is one disk of the VM and the volume it came from.
type Disk struct {
	Label            string // the archive's disk label
	Bytes            int64  // logical size in the archive
	VolumeID         string // the original volume
	VolumeName       string
	SizeGiB          int // recorded volume size
	VolumeType       string
	AvailabilityZone string
	Bootable         bool
	BootIndex        int // 0 = boot disk; > 0 boot order; < 0 attached only
	Device           string
}

// SizeUnits is the size of the new volume in units of unit bytes (GiB):
// the recorded size, and at least enough for the archived bytes.
func (d Disk) SizeUnits(unit int64) int {
	need := int((d.Bytes + unit - 1) / unit)
	return max(d.SizeGiB, need, 1)
}

// sortDisks puts disks in boot order: boot indexes 0, 1, 2, ... first, then
// the attached-only disks in their recorded order (device name, then label).
func sortDisks(ds []Disk) {
	slices.SortStableFunc(ds, func(a, b Disk) int {
		ai, bi := a.BootIndex, b.BootIndex
		switch {
		case ai >= 0 && bi >= 0:
			return cmp.Compare(ai, bi)
		case ai >= 0:
			return -1
		case bi >= 0:
			return 1
		}
		return cmp.Or(cmp.Compare(a.Device, b.Device), cmp.Compare(a.Label, b.Label))
	})
}

// bootDisk returns the index in vm.Disks of the disk to boot from.
func (vm *VM) bootDisk() int {
	for i, d := range vm.Disks {
		if d.BootIndex == 0 {
			return i
		}
	}
	for i, d := range vm.Disks {
		if d.Bootable {
			return i
		}
	}
	return 0
}
