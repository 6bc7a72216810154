package archive

import (
	"context"
	"errors"
	"fmt"
	"io"

	"rb_module_rustack/internal/dedup"
)

// ImageReader reads the disks of one archive (any point of a chain, pool
// or dedup store) at random offsets, without restoring them: for a mount
// or for taking single files out of a backup. It never writes to the pool
// or the store. Safe for concurrent use.
type ImageReader struct {
	md    *manifestData
	src   *chainSource
	rd    *dedup.Reader
	cache *dedup.ChunkCache
	disks map[string]*DiskImage
}

// DiskImage is one disk of an ImageReader: an io.ReaderAt of exactly the
// disk's size whose holes read as zeros.
type DiskImage struct {
	archive, label string
	dr             *dedup.DiskReader
}

// OpenImage opens the chain or store that archive m needs for random
// reads. cacheBytes bounds the decoded chunks kept in memory for all its
// disks together (<= 0: dedup.DefaultCacheBytes).
func (r *Repo) OpenImage(m *Manifest, cacheBytes int64) (*ImageReader, error) {
	if m == nil {
		return nil, errors.New("no manifest")
	}
	md, err := r.manifestData(context.Background(), m)
	if err != nil {
		return nil, err
	}
	src, err := r.source(md, false)
	if err != nil {
		return nil, err
	}
	ir := &ImageReader{md: md, src: src, rd: r.reader(md.meta.Cipher), cache: dedup.NewChunkCache(cacheBytes),
		disks: map[string]*DiskImage{}}
	for i, d := range md.meta.Disks {
		ir.disks[d.Label] = &DiskImage{archive: md.meta.ID, label: d.Label,
			dr: ir.rd.NewDiskReader(md.runs[i], src, ir.cache)}
	}
	return ir, nil
}

// Disk returns the reader of disk label.
func (ir *ImageReader) Disk(label string) (*DiskImage, error) {
	d, ok := ir.disks[label]
	if !ok {
		return nil, fmt.Errorf("archive %s has no disk %q", ir.md.meta.ID, label)
	}
	return d, nil
}

// Close waits for the read-ahead and closes the archive files.
func (ir *ImageReader) Close() error {
	for _, d := range ir.disks {
		d.dr.Close()
	}
	ir.src.Close()
	return nil
}

// Size is the disk's size in bytes.
func (d *DiskImage) Size() int64 { return d.dr.Size() }

// Label is the disk's label.
func (d *DiskImage) Label() string { return d.label }

// ReadAt reads the disk like an io.ReaderAt. Damaged or missing data fails
// only the reads that need it, with an error that wraps ErrIntegrity or
// ErrMissing and names the archive, the disk and the byte range of the
// chunk (a *dedup.RangeError).
func (d *DiskImage) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.dr.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("archive %s disk %s: %w", d.archive, d.label, err)
	}
	return n, err
}
