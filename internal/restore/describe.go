package restore

import (
	"fmt"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/vmdesc"
)

// VMFromManifest builds the VM to restore from a manifest: its disks (in
// boot order) and the VM description the backup recorded.
func VMFromManifest(m *archive.Manifest) (*VM, error) {
	d := &vmdesc.VM{}
	if len(m.VM) > 0 {
		var err error
		if d, err = vmdesc.Parse(m.VM); err != nil {
			return nil, fmt.Errorf("archive %s: %w", m.ID, err)
		}
	}
	vm := &VM{ID: cmpOr(d.ID, m.VMID), Name: cmpOr(d.Name, m.VMName), FlavorID: d.Flavor.ID,
		FlavorName: d.Flavor.Name, KeyName: d.KeyName, AvailabilityZone: d.AvailabilityZone,
		SecurityGroups: d.SecurityGroups, Metadata: d.Metadata}
	for _, n := range d.Networks {
		vm.Networks = append(vm.Networks, api.Network{ID: n.ID, Name: n.Name, FixedIP: n.FixedIP})
	}
	for i, md := range m.Disks {
		disk := Disk{Label: md.Label, Bytes: md.Size, BootIndex: -1}
		if dd := d.Disk(md.Label); dd != nil {
			disk.VolumeID, disk.VolumeName, disk.SizeGiB = dd.VolumeID, dd.Name, dd.Size
			disk.VolumeType, disk.AvailabilityZone = dd.VolumeType, dd.AvailabilityZone
			disk.Bootable, disk.BootIndex, disk.Device = dd.Bootable, dd.BootIndex, dd.Device
		} else if i == 0 && len(d.Disks) == 0 {
			disk.BootIndex = 0
		}
		vm.Disks = append(vm.Disks, disk)
	}
	return vm, nil
}

// Normalize puts the disks in boot order with exactly one boot disk (index
// 0: the recorded one, else the first bootable, else the first disk) and the
// other bootable positions numbered 1, 2, ... without gaps, as Nova wants;
// disks recorded as attached only keep -1.
func (vm *VM) Normalize() {
	sortDisks(vm.Disks)
	if len(vm.Disks) == 0 {
		return
	}
	boot := vm.bootDisk()
	if vm.Disks[boot].BootIndex != 0 {
		for i := range vm.Disks {
			if vm.Disks[i].BootIndex >= 0 {
				vm.Disks[i].BootIndex++
			}
		}
		vm.Disks[boot].BootIndex = 0
		sortDisks(vm.Disks)
	}
	n := 0
	for i := range vm.Disks {
		if vm.Disks[i].BootIndex >= 0 {
			vm.Disks[i].BootIndex = n
			n++
		} else {
			vm.Disks[i].BootIndex = -1
		}
	}
}

// ForManifest is the VM to restore from the manifest's chain: vm (a copy),
// or when nil the one VMFromManifest reads; checked against the manifest's
// disks and in boot order (Normalize).
func ForManifest(m *archive.Manifest, vm *VM) (*VM, error) {
	if vm == nil {
		var err error
		if vm, err = VMFromManifest(m); err != nil {
			return nil, err
		}
	} else {
		cp := *vm
		cp.Disks = append([]Disk(nil), vm.Disks...)
		vm = &cp
	}
	if len(vm.Disks) == 0 {
		return nil, fmt.Errorf("archive %s holds no disk to restore", m.ID)
	}
	seen := map[string]bool{}
	for _, d := range vm.Disks {
		if seen[d.Label] {
			return nil, fmt.Errorf("archive %s: disk %q appears twice", m.ID, d.Label)
		}
		seen[d.Label] = true
	}
	vm.Normalize()
	return vm, nil
}
