// Package directio owns the memory of O_DIRECT reads and writes: buffers
// from anonymous mappings aligned to and advised as 2 MiB huge pages (one
// block request per 4 MiB instead of four), handed out by Get and given
// back by Put, a bounded number kept for reuse; and the flushing of files
// while they are written (Syncer: background fdatasync of O_DIRECT files,
// or started write-back of files written through the page cache).
//
// It must not know what is read or written with them (container files,
// restored disks).
package directio
