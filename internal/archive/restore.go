package archive

import (
	"context"
	"errors"
	"fmt"
	"io"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/dedup"
)

// RestoreDisk writes disk label of archive m to dst. Every chunk is
// authenticated before it is written (and its id recomputed under cipher
// none); damaged or
// missing data stops the restore with an error wrapping ErrIntegrity,
// ErrMissing or ErrMissingParent that names the archive, disk and range.
func (r *Repo) RestoreDisk(ctx context.Context, m *Manifest, label string, dst io.WriterAt, o RestoreOptions) error {
	if m == nil {
		return errors.New("no manifest")
	}
	md, err := r.manifestData(ctx, m)
	if err != nil {
		return err
	}
	runs, err := md.diskRuns(label)
	if err != nil {
		return err
	}
	src, err := r.source(md, false)
	if err != nil {
		return err
	}
	defer src.Close()
	var prog func(int64)
	if o.Progress != nil {
		prog = func(n int64) { o.Progress(n) }
	}
	if err := r.reader(md.meta.Cipher).Restore(ctx, runs, src, dst, o.SkipHoles, o.Align, prog); err != nil {
		return fmt.Errorf("restore archive %s disk %s: %w", md.meta.ID, label, err)
	}
	return nil
}

// Verify checks an archive completely: file structure, every tag, every
// chunk id recomputed, the chain or store it needs. Damage is reported in
// the VerifyReport; an error means verify could not run (not found, wrong
// key: errors.Is(err, ErrWrongKey)).
func (r *Repo) Verify(ctx context.Context, idOrPath string) (*VerifyReport, error) {
	return r.VerifyWith(ctx, idOrPath, VerifyOptions{})
}

// VerifyOptions tune VerifyWith.
type VerifyOptions struct {
	// Progress, if set, is told for each disk the bytes of its distinct
	// chunks checked so far and their total.
	Progress func(disk string, done, total int64)
}

// VerifyWith is Verify with options.
func (r *Repo) VerifyWith(ctx context.Context, idOrPath string, o VerifyOptions) (*VerifyReport, error) {
	rep := &VerifyReport{Archive: idOrPath}
	damage := func(disk string, off, n int64, problem string) {
		rep.Damaged = append(rep.Damaged, Damage{Archive: rep.Archive, Disk: disk, Offset: off, Length: n, Problem: problem})
	}
	md, f, err := r.find(ctx, idOrPath)
	if err != nil {
		if errors.Is(err, ErrWrongKey) || errors.Is(err, ErrKeyNeeded) || errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if errors.Is(err, ErrIntegrity) {
			damage("", -1, 0, err.Error())
			return rep, nil
		}
		return nil, err
	}
	rep.Archive = md.meta.ID
	if f != nil { // nil: the store's copy, which has no blob area
		if md.meta.Mode == modePool {
			if err := checkTiling(f); err != nil {
				damage("", -1, 0, err.Error())
			}
		}
		f.Close()
	}
	src, err := r.source(md, true)
	if err != nil {
		if errors.Is(err, ErrWrongKey) || errors.Is(err, ErrKeyNeeded) {
			return nil, err
		}
		damage("", -1, 0, err.Error())
		// Carry on without a source: every chunk is then reported missing.
		src = &chainSource{Source: missingSource{err}}
	}
	defer src.Close()
	for _, e := range src.damaged {
		damage("", -1, 0, "store index: "+e.Error())
	}
	rd := r.reader(md.meta.Cipher)
	for i, d := range md.meta.Disks {
		if o.Progress != nil {
			rd.CheckProgress = func(done, total int64) { o.Progress(d.Label, done, total) }
		}
		probs, n, bytes, err := rd.Check(ctx, md.runs[i], src)
		if err != nil {
			return nil, err
		}
		rep.Chunks += n
		rep.Bytes += bytes
		for _, pr := range probs {
			damage(d.Label, pr.Off, pr.Len, fmt.Sprintf("chunk %s: %v", pr.ID.Short(), pr.Err))
		}
	}
	return rep, nil
}

type missingSource struct{ err error }

func (m missingSource) Locate(id chunk.ID) (dedup.BlobRef, error) {
	return dedup.BlobRef{}, fmt.Errorf("%w: %v", chunk.ErrMissing, m.err)
}

// checkTiling checks that the blobs listed by an archive's index fill its
// blob area exactly, so no byte of the file escapes a check.
func checkTiling(f *container.FileReader) error {
	b, err := f.Section("index")
	if err != nil {
		return err
	}
	_, es, err := chunk.ParseIndex(b, true)
	if err != nil {
		return err
	}
	pos, end := f.BlobArea()
	for _, e := range chunk.SortByOffset(es) {
		if e.Pack != chunk.SelfPack || int64(e.Off) != pos {
			return fmt.Errorf("%w: %s: blob area has a gap or overlap at byte %d", ErrIntegrity, f.Path, pos)
		}
		pos += int64(e.CLen)
	}
	if pos != end {
		return fmt.Errorf("%w: %s: blob area has %d unaccounted bytes at %d", ErrIntegrity, f.Path, end-pos, pos)
	}
	return nil
}

// Extent is a byte range of a disk.
type Extent struct{ Off, Len int64 }

// DataExtents returns the ranges of disk label that hold data (everything
// but the holes), merged and in order: a restore target can allocate them
// up front (fallocate) and leave the rest sparse.
func (m *Manifest) DataExtents(label string) ([]Extent, error) {
	if m.data == nil {
		return nil, errors.New("manifest not loaded by Load")
	}
	runs, err := m.data.diskRuns(label)
	if err != nil {
		return nil, err
	}
	var out []Extent
	var off int64
	for _, r := range runs {
		if !r.Hole {
			if n := len(out); n > 0 && out[n-1].Off+out[n-1].Len == off {
				out[n-1].Len += r.Len
			} else {
				out = append(out, Extent{Off: off, Len: r.Len})
			}
		}
		off += r.Len
	}
	return out, nil
}
