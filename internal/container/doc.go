// Package container owns the container file format (docs/format.md,
// section 5) shared by archives, packs and index files: the header and its
// checksum, per-file keys (salt, key check, sealer), blobs (a chunk
// compressed and sealed with its id as associated data), sealed sections
// and the section table; FileWriter (with its staged O_DIRECT writer) and
// FileReader; and publishing a finished local file under its final name
// without ever replacing one.
//
// It must not know what the sections mean (manifests), how files are
// grouped (pools, stores, backends) or how chunks are cut.
package container
