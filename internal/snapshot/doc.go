// Package snapshot turns a VM into a consistent set of readable disks: guest
// scripts, Cinder snapshots, temporary volumes attached to the proxy VM, the
// by-id device lookup, and cleanup in dependency order, with a journal so that a
// killed run can be swept. It owns the small Cloud interface it needs; the real
// client (internal/api) and the fake (internal/fakecloud) both satisfy it.
package snapshot
