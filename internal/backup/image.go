package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/directio"
)

// Image is a local raw image or block device opened for reading.
type Image struct {
	Label, Path string
	Size        int64 // found by seeking to the end
	f           *directio.Reader
}

// OpenImage opens a regular file or block device read-only and finds its
// size by seeking to the end. The caller closes it.
func OpenImage(label, path string) (*Image, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", label, err)
	}
	m := st.Mode()
	if !m.IsRegular() && (m&os.ModeDevice == 0 || m&os.ModeCharDevice != 0) {
		return nil, fmt.Errorf("disk %s: %s is neither a regular file nor a block device", label, path)
	}
	f, err := directio.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", label, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("disk %s: size of %s: %w", label, path, err)
	}
	return &Image{Label: label, Path: path, Size: size, f: f}, nil
}

// Close closes the image.
func (im *Image) Close() error { return im.f.Close() }

// ImagesOptions describe a backup of local images as the disks of one VM.
type ImagesOptions struct {
	Name, VMID      string // chains are per VM id
	Type            archive.Type
	Disks           []*Image // in boot order
	DiskParallelism int      // disks read at once; at least 1
	// Note is called when the archive begun has a note.
	Note func(note string)
	// DiskProgress, if set, is told the bytes read of each disk.
	DiskProgress DiskProgress
	// DiskRead, when set, is called (from the disk's goroutine) when a
	// disk has been read, with how long its reading took.
	DiskRead func(label string, size int64, took time.Duration)
}

// imageDescription is the VM description of an image backup.
type imageDescription struct {
	Source string      `json:"source"`
	Name   string      `json:"name"`
	ID     string      `json:"id"`
	Disks  []imageDisk `json:"disks"`
}

type imageDisk struct {
	Label string `json:"label"`
	Path  string `json:"path"`
	Size  int64  `json:"size"`
}

// Images backs up the images into repo and commits the archive; on error
// the archive is aborted.
func Images(ctx context.Context, repo *archive.Repo, o ImagesOptions) (*archive.Summary, error) {
	desc := imageDescription{Source: "image", Name: o.Name, ID: o.VMID}
	labels := make([]string, len(o.Disks))
	for i, d := range o.Disks {
		desc.Disks = append(desc.Disks, imageDisk{d.Label, d.Path, d.Size})
		labels[i] = d.Label
	}
	vm, err := json.Marshal(desc)
	if err != nil {
		return nil, err
	}
	b, err := repo.Begin(ctx, archive.BackupSpec{VMID: o.VMID, VMName: o.Name, Type: o.Type, VM: vm})
	if err != nil {
		return nil, err
	}
	defer b.Abort()
	if note := b.Note(); note != "" && o.Note != nil {
		o.Note(note)
	}
	b.SetDiskOrder(labels)
	sem := make(chan struct{}, max(1, o.DiskParallelism))
	var wg sync.WaitGroup
	errs := make([]error, len(o.Disks))
	for i, d := range o.Disks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var src io.ReaderAt = d.f
			if o.DiskProgress != nil {
				src = newCountingReader(d.f, d.Label, d.Size, o.DiskProgress)
			}
			t0 := time.Now()
			errs[i] = b.AddDisk(ctx, d.Label, src, d.Size, nil)
			if errs[i] == nil && o.DiskRead != nil {
				o.DiskRead(d.Label, d.Size, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b.Commit(ctx)
}
