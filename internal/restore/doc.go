// Package restore is what an archive restores to and how its disks reach a
// local target:
//
//   - the VM to restore, read from the manifest and its VM description
//     (VMFromManifest, ForManifest), in boot order;
//   - the plan of a restore into the cloud (PlanServer, PlanVolume): the
//     recorded flavor, networks, key pair, security groups, zones and volume
//     types checked against the cloud's catalog, with the user's overrides,
//     a free server name (<name>, <name>-1, ...) and a note for each change;
//   - writing a disk into a device (WriteDevice, with kernel-zeroed ranges),
//     and a whole restore into a local directory (ToDir: sparse images
//     written with O_DIRECT where possible, plus vm.json).
//
// It reads the cloud's catalog only (Catalog and the optional listers); it
// creates nothing in the cloud (internal/deploy does). It does not know how
// archives are stored (a DiskSource writes a disk), the configuration, or
// how the command line looks.
package restore
