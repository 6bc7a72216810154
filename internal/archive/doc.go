// Package archive owns manifests and backup chains: full, incremental and
// differential archives in an archive pool (one self-contained file per backup)
// or over a shared dedup store (the archive is its manifest). It reads disks
// through io.ReaderAt and writes them back through io.WriterAt; it knows nothing
// about the cloud.
package archive
