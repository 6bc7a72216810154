// Package fileget lists and copies files out of an ext2/3/4 file system in
// a disk image without mounting it, with e2fsprogs' debugfs (which reads
// the image as a plain file, at a partition's offset, and restores mode,
// owner and times), and finds partitions with sfdisk.
package fileget
