// Package store owns the shared dedup store (docs/format.md, section 7):
// its config, writer sessions that fill packs and publish one index file
// each, loading the union of the index files, opening packs and finding
// the chunks of packs no index file lists yet. It reaches its bytes only
// through the Backend interface (backend.go), whose first implementation
// is a local directory (local.go); object stores (Swift, S3) fit the same
// contract.
//
// It must not know about VMs, archives, manifests or how chunks are cut
// and sealed (it stores sealed blobs it is handed), nor about the pipeline
// that feeds it.
package store
