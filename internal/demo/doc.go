// Package demo is the demo scenario: a VM with a boot disk and a data disk
// on an in-process fake cloud (internal/fakecloud), backed up full, changed,
// backed up incrementally, restored to a directory, compared byte for byte
// and verified, with a line for each step and how fast it went.
//
// The backups take the same path as the backup command (internal/backup,
// hence snapshot.Run and the archive engine), the restore the same as
// "restore --to-dir" (internal/restore). It owns only the scenario: the
// fake VM, its data, the changes, the faults to inject and the checks. It
// does not know the command line or exit codes; a check that finds different
// or damaged data returns a *DamageError.
package demo
