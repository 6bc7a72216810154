// Package mount serves the disks of an archive as a read-only FUSE file
// system: <label>.img for every disk (random access through the archive's
// chunk index, exact size, holes read as zeros) and vm.json beside them.
// It never writes to the pool or the store.
package mount
