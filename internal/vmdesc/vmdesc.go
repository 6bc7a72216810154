package vmdesc

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the version of VM written by this module.
const Version = 1

// VM is everything a restore needs to rebuild a VM, stored
// verbatim (as JSON) in every archive. Restore reads it back with
// Parse.
type VM struct {
	Version          int               `json:"version"`
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Status           string            `json:"status,omitempty"`
	ProjectID        string            `json:"project_id,omitempty"`
	Flavor           Flavor            `json:"flavor"`
	KeyName          string            `json:"key_name,omitempty"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	SecurityGroups   []string          `json:"security_groups,omitempty"` // names
	Networks         []Network         `json:"networks,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	Host             string            `json:"host,omitempty"`          // hypervisor at backup time (admin view), informative
	InstanceName     string            `json:"instance_name,omitempty"` // libvirt name at backup time (admin view), informative
	Disks            []Disk            `json:"disks"`                   // boot order: Disks[0] is the boot disk
	BackupTime       time.Time         `json:"backup_time"`             // when the snapshots were taken
	JobID            string            `json:"job_id,omitempty"`
}

// Flavor is the VM's flavor.
type Flavor struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	VCPUs int    `json:"vcpus,omitempty"`
	RAM   int    `json:"ram_mib,omitempty"`
	Disk  int    `json:"disk_gib,omitempty"`
}

// Network is one network of the VM.
type Network struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	FixedIP string `json:"fixed_ip,omitempty"`
}

// Disk is one volume of the VM.
type Disk struct {
	Label            string            `json:"label"`     // the disk's label in the archive (= the original volume id)
	VolumeID         string            `json:"volume_id"` // original volume
	Name             string            `json:"name,omitempty"`
	Description      string            `json:"description,omitempty"`
	Size             int               `json:"size_gib"`             // Cinder size
	SizeBytes        int64             `json:"size_bytes,omitempty"` // Size in bytes as Cinder counts it; the size read is in the archive manifest
	VolumeType       string            `json:"volume_type,omitempty"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	Bootable         bool              `json:"bootable"`
	BootIndex        int               `json:"boot_index"`       // 0 = boot disk, then 1, 2, ... in boot order
	Device           string            `json:"device,omitempty"` // Nova's device name (informative only)
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// Marshal encodes d for archive.BackupSpec.VM.
func (d *VM) Marshal() (json.RawMessage, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode VM description: %w", err)
	}
	return b, nil
}

// Parse decodes the VM description stored in an archive.
func Parse(raw []byte) (*VM, error) {
	var d VM
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode VM description: %w", err)
	}
	if d.Version < 1 || d.Version > Version {
		return nil, fmt.Errorf("VM description version %d is not supported by this module (want 1..%d); use a newer rb_module_rustack", d.Version, Version)
	}
	seen := map[string]bool{}
	for i, dk := range d.Disks {
		if dk.Label == "" {
			return nil, fmt.Errorf("VM description: disk %d has no label", i)
		}
		if seen[dk.Label] {
			return nil, fmt.Errorf("VM description: disk label %q repeated", dk.Label)
		}
		seen[dk.Label] = true
		if dk.Size < 0 || dk.SizeBytes < 0 {
			return nil, fmt.Errorf("VM description: disk %q has a negative size", dk.Label)
		}
	}
	return &d, nil
}

// Disk returns the disk with the given label, or nil.
func (d *VM) Disk(label string) *Disk {
	for i := range d.Disks {
		if d.Disks[i].Label == label {
			return &d.Disks[i]
		}
	}
	return nil
}
