package restore

import (
	"encoding/json"
	"fmt"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
)

// vmDescription is the VM description the backup stores in the manifest.
// PROVISIONAL: replaced by snapshot.VMDescription once it lands.
type vmDescription struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	FlavorID         string            `json:"flavor_id"`
	FlavorName       string            `json:"flavor_name"`
	KeyName          string            `json:"key_name"`
	AvailabilityZone string            `json:"availability_zone"`
	SecurityGroups   []string          `json:"security_groups"`
	Networks         []api.Network     `json:"networks"`
	Metadata         map[string]string `json:"metadata"`
	Disks            []struct {
		Label            string `json:"label"`
		VolumeID         string `json:"volume_id"`
		VolumeName       string `json:"volume_name"`
		Size             int    `json:"size_gb"`
		VolumeType       string `json:"volume_type"`
		AvailabilityZone string `json:"availability_zone"`
		Bootable         bool   `json:"bootable"`
		BootIndex        *int   `json:"boot_index"`
		Device           string `json:"device"`
	} `json:"disks"`
}

// VMFromManifest builds the VM to restore from a manifest: its disks (in
// boot order) and the VM description the backup recorded.
func VMFromManifest(m *archive.Manifest) (*VM, error) {
	var d vmDescription
	if len(m.VM) > 0 {
		if err := json.Unmarshal(m.VM, &d); err != nil {
			return nil, fmt.Errorf("archive %s: read the VM description: %w", m.ID, err)
		}
	}
	vm := &VM{ID: cmpOr(d.ID, m.VMID), Name: cmpOr(d.Name, m.VMName), FlavorID: d.FlavorID,
		FlavorName: d.FlavorName, KeyName: d.KeyName, AvailabilityZone: d.AvailabilityZone,
		SecurityGroups: d.SecurityGroups, Networks: d.Networks, Metadata: d.Metadata}
	for i, md := range m.Disks {
		disk := Disk{Label: md.Label, Bytes: md.Size, BootIndex: -1}
		if i == 0 {
			disk.BootIndex = 0
		}
		for _, dd := range d.Disks {
			if dd.Label != md.Label {
				continue
			}
			disk.VolumeID, disk.VolumeName, disk.SizeGiB = dd.VolumeID, dd.VolumeName, dd.Size
			disk.VolumeType, disk.AvailabilityZone = dd.VolumeType, dd.AvailabilityZone
			disk.Bootable, disk.Device = dd.Bootable, dd.Device
			if dd.BootIndex != nil {
				disk.BootIndex = *dd.BootIndex
			}
		}
		vm.Disks = append(vm.Disks, disk)
	}
	return vm, nil
}

// normalize puts the disks in boot order with exactly one boot disk (index
// 0): the recorded one, else the first bootable, else the first disk.
func (vm *VM) normalize() {
	sortDisks(vm.Disks)
	if len(vm.Disks) == 0 {
		return
	}
	boot := vm.bootDisk()
	for i := range vm.Disks {
		if i != boot && vm.Disks[i].BootIndex == 0 {
			vm.Disks[i].BootIndex = -1
		}
	}
	vm.Disks[boot].BootIndex = 0
	sortDisks(vm.Disks)
}

// vm returns the VM to restore, checked against the manifest's disks.
func (o *Options) vm() (*VM, error) {
	vm := o.VM
	if vm == nil {
		var err error
		if vm, err = VMFromManifest(o.Manifest); err != nil {
			return nil, err
		}
	} else {
		cp := *vm
		cp.Disks = append([]Disk(nil), vm.Disks...)
		vm = &cp
	}
	if len(vm.Disks) == 0 {
		return nil, fmt.Errorf("archive %s holds no disk to restore", o.Manifest.ID)
	}
	seen := map[string]bool{}
	for _, d := range vm.Disks {
		if seen[d.Label] {
			return nil, fmt.Errorf("archive %s: disk %q appears twice", o.Manifest.ID, d.Label)
		}
		seen[d.Label] = true
	}
	vm.normalize()
	return vm, nil
}
