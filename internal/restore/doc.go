// Package restore turns an archive back into a VM in the cloud (new volumes,
// written through the proxy VM, a server booted from them with a free name) or
// into a single volume, with rollback of everything it created on failure.
//
// It owns the small Cloud interface it needs (a subset of api.Cloud, which the
// real client and the fake cloud both satisfy), the mapping from a manifest's
// VM description to the new server's parameters (with the user's overrides and
// the notes about what no longer exists), the free-name rule (<name>, then
// <name>-1, <name>-2, ...), the by-id device lookup on the proxy, and the
// rollback ledger. It does not know how archives are stored (it asks a
// DiskSource to write a disk), how the cloud is reached, or how the command
// line looks.
package restore
