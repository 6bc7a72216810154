// Package guest runs commands inside a VM through qemu-guest-agent
// (guest-exec / guest-exec-status), reached with virsh locally or over ssh on the
// VM's hypervisor, and implements the before/after script rules.
// It knows nothing about snapshots or archives.
package guest
