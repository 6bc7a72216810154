// Package dedup is the backup engine's data path on top of the storage
// packages: the Pipeline (a disk -> zero detection, content-defined chunks,
// keyed ids, "seen?" through a Target, compression and sealing of new
// chunks on all cores, blobs stored in disk order), the Targets of a
// session (FileTarget: one container file; store.Writer satisfies Target
// too), the sources that locate stored chunks (IndexSource over container
// files, StoreSource over a dedup store) and the Reader that restores and
// checks runs.
//
// It builds on chunk, chunker, codec, crypt, container, directio and store;
// it must not know about VMs, manifests, archive chains or the cloud.
package dedup
