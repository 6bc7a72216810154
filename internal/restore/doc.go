// Package restore turns an archive back into a VM in the cloud (new volumes,
// written through the proxy VM, a server booted from them with a free name) or
// into a single volume, with rollback of everything it created on failure.
package restore
