// Package backup composes a backup into an archive: the one place where an
// archive is begun, its disks added and the archive committed (or aborted).
//
//   - VM backs up a cloud VM: snapshot.Run describes the VM, runs the guest
//     scripts, snapshots the volumes and attaches temporary volumes to the
//     proxy; backup hands each device to the archive, commits it, and keeps
//     a backup whose only fault is an incomplete cleanup (with a warning).
//     Sweep removes what killed runs left; GuestScripts makes the guest
//     scripts of a VM.
//   - Images backs up local raw images or block devices as the disks of one
//     VM, disk_parallelism disks at a time.
//
// The backup command, "image backup" and the demo all come through here.
// Options and results are plain structs. It does not know the command line,
// the configuration file, exit codes or how results are printed; it uses the
// archive's exported API only and knows nothing of chunks or packs.
package backup
