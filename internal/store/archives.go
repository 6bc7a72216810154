package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The store keeps a copy of every archive file written into it (in store
// mode an archive file holds only its manifest, a few KiB to a few MiB):
// archives/<archive id>.rba. These copies are what garbage collection
// reads to learn which chunks are referenced, so the archives of every
// pool that writes to one store count, whichever proxy holds the pool
// (docs/format.md, section 7). The archive package writes and reads them;
// the store only keeps the objects.

// archivePrefix is where the archive copies live.
const archivePrefix = "archives/"

// archiveExt is the suffix of archive objects (as in a pool).
const archiveExt = ".rba"

// ArchiveObject is the object name of archive id.
func ArchiveObject(id string) string { return archivePrefix + id + archiveExt }

// PutArchive copies the local archive file src into the store as the
// archive id. An existing copy of the same id is kept (archive files are
// never changed after they are published).
func (s *Store) PutArchive(ctx context.Context, src, id string) error {
	name := ArchiveObject(id)
	dir, err := s.be.Staging(ctx, archivePrefix)
	if err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:])+"-"+id+archiveExt)
	if err := copyFileSync(src, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dedup store %s: copy of archive %s: %w", s.Dir, id, err)
	}
	err = s.be.Put(ctx, tmp, name)
	os.Remove(tmp)
	if err != nil && !errors.Is(err, ErrExist) {
		return fmt.Errorf("dedup store %s: copy of archive %s: %w", s.Dir, id, err)
	}
	return nil
}

// copyFileSync copies src to a new file dst and fsyncs it.
func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Archives lists the ids of the archive copies in the store.
func (s *Store) Archives(ctx context.Context) ([]string, error) {
	names, err := s.list(archivePrefix, archiveExt, 0)
	if err != nil {
		return nil, fmt.Errorf("dedup store %s: list archives: %w", s.Dir, err)
	}
	ids := make([]string, 0, len(names))
	for _, n := range names {
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(n, archivePrefix), archiveExt))
	}
	return ids, nil
}

// OpenArchive opens the store's copy of archive id (fs.ErrNotExist when
// there is none).
func (s *Store) OpenArchive(ctx context.Context, id string) (Object, error) {
	return s.be.Open(ctx, ArchiveObject(id))
}

// DeleteArchive removes the store's copy of archive id (none is no error).
// Deleting an archive only drops references: its chunks stay until a
// prune, under the exclusive lock, finds them unreferenced.
func (s *Store) DeleteArchive(ctx context.Context, id string) error {
	if err := s.be.Delete(ctx, ArchiveObject(id)); err != nil {
		return fmt.Errorf("dedup store %s: delete archive %s: %w", s.Dir, id, err)
	}
	return nil
}

// Where names an object of the store in messages.
func (s *Store) Where(name string) string { return s.where(name) }
