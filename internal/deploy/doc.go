// Package deploy restores an archive into the cloud: Deploy recreates the VM
// (new volumes written through the proxy VM, the boot volume marked
// bootable, a server booted from them), VolumeOnly restores one disk into a
// new volume, and Run is the whole job of the restore command (its journal,
// its log lines, its outcome). Every resource is recorded in the rollback
// ledger and the journal before it is created; a failure removes it all
// (or, with KeepPartial, keeps it detached).
//
// It owns the small Cloud interface it needs (a subset of api.Cloud, which
// the real client and the fake cloud both satisfy) and the rollback ledger.
// What to create is internal/restore's plan; how a disk reaches a device is
// internal/restore's WriteDevice; where the device appears is
// internal/blockdev. It does not know how archives are stored, how the cloud
// is reached, or how the command line looks.
package deploy
