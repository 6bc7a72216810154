// Package snapshot turns a VM into a consistent set of readable disks: guest
// scripts, Cinder snapshots, temporary volumes attached to the proxy VM (found
// with internal/blockdev), and cleanup in dependency order, with a journal so that a
// killed run can be swept. It owns the small Cloud interface it needs; the real
// client (internal/api) and the fake (internal/fakecloud) both satisfy it. The VM description it fills in is internal/vmdesc.
package snapshot
