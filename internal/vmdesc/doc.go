// Package vmdesc is the VM description a backup stores in every archive and
// a restore reads back: the VM's flavor, networks, key pair, security
// groups, metadata and its disks in boot order (VM, Disk, Marshal, Parse,
// Version).
//
// It owns the JSON form and its version check. It knows nothing of the
// cloud API, the archive format or the flows that write and read it
// (internal/snapshot fills it in, internal/restore and internal/deploy
// read it).
package vmdesc
