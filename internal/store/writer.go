package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
	"rb_module_rustack/internal/crypt"
)

// Writer is one writer session of a store: it fills packs of its own
// and finally publishes one index file for them. Implements dedup.Target.
type Writer struct {
	s       *Store
	keys    *container.Keys
	base    *chunk.Index
	claims  *chunk.ClaimSet
	mu      sync.Mutex
	cur     *container.FileWriter
	packs   []chunk.ID
	entries []chunk.IndexEntry
	bytes   int64 // bytes of published files
	closed  bool

	// Uploads in flight (backends with PutParallel > 1): finished packs
	// are sealed at once and put in the background, at most cap(slots)
	// at a time; the first error fails the session.
	slots  chan struct{}
	wg     sync.WaitGroup
	errMu  sync.Mutex
	putErr error
}

// ParallelPutter is implemented by backends whose Put is an upload: a
// writer keeps PutParallel of them in flight instead of waiting for each.
type ParallelPutter interface {
	PutParallel() int
}

// NewWriter starts a session that stores chunks base lacks.
func (s *Store) NewWriter(cipherName string, base *chunk.Index) (*Writer, error) {
	if s.Keyed == (cipherName == crypt.None) {
		return nil, fmt.Errorf("cipher %s does not match dedup store %s", cipherName, s.Dir)
	}
	keys, err := container.NewKeys(cipherName, s.master)
	if err != nil {
		return nil, err
	}
	w := &Writer{s: s, keys: keys, base: base, claims: chunk.NewClaimSet()}
	if pp, ok := s.be.(ParallelPutter); ok && pp.PutParallel() > 1 {
		w.slots = make(chan struct{}, pp.PutParallel())
	}
	return w, nil
}

// Claim implements dedup.Target.
func (w *Writer) Claim(id chunk.ID) bool {
	if w.base.Has(id) {
		return false
	}
	return w.claims.Claim(id)
}

// Sealer implements dedup.Target.
func (w *Writer) Sealer() *crypt.Sealer { return w.keys.Sealer }

// Put implements dedup.Target.
func (w *Writer) Put(id chunk.ID, blob []byte, plen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("store writer closed")
	}
	if err := w.uploadErr(); err != nil {
		return err
	}
	if w.cur == nil {
		dir, err := w.s.be.Staging(context.Background(), "packs/")
		if err != nil {
			return err
		}
		f, err := container.CreateFile(dir, "pack", container.KindPack, w.keys, nil, container.FileOpts{HashContent: true, Direct: true})
		if err != nil {
			return err
		}
		w.cur = f
	}
	if err := w.cur.PutBlob(id, blob, plen); err != nil {
		return err
	}
	if w.cur.Size() >= PackTarget {
		return w.finishPack()
	}
	return nil
}

// finishPack closes and publishes the current pack. Called with mu held.
func (w *Writer) finishPack() error {
	f := w.cur
	w.cur = nil
	var name chunk.ID
	var entries []chunk.IndexEntry
	var err error
	if w.slots == nil {
		name, entries, err = w.s.publishPack(f)
	} else {
		name, entries, err = w.s.sealPack(f)
		if err == nil {
			w.slots <- struct{}{} // waits while PutParallel uploads are in flight
			w.wg.Add(1)
			go func() {
				defer func() { <-w.slots; w.wg.Done() }()
				if err := w.s.put(f, packName(name)); err != nil {
					f.Abort()
					w.errMu.Lock()
					if w.putErr == nil {
						w.putErr = err
					}
					w.errMu.Unlock()
				}
			}()
		}
	}
	if err != nil {
		return err
	}
	num := uint32(len(w.packs))
	w.packs = append(w.packs, name)
	for _, e := range entries {
		e.Pack = num
		w.entries = append(w.entries, e)
	}
	w.bytes += f.Size()
	return nil
}

// publishPack finishes pack f: its own index section (the entries sorted
// by id, which it returns), then it closes f and publishes it under the
// name of its content. On an error f is aborted.
func (s *Store) publishPack(f *container.FileWriter) (chunk.ID, []chunk.IndexEntry, error) {
	name, entries, err := s.sealPack(f)
	if err != nil {
		return chunk.ID{}, nil, err
	}
	if err := s.put(f, packName(name)); err != nil {
		f.Abort()
		return chunk.ID{}, nil, err
	}
	return name, entries, nil
}

// sealPack finishes pack f (its own index section, then close) and
// returns its name and entries without publishing it. On an error f is
// aborted.
func (s *Store) sealPack(f *container.FileWriter) (chunk.ID, []chunk.IndexEntry, error) {
	entries := chunk.SortEntries(append([]chunk.IndexEntry(nil), f.Entries()...))
	if err := f.AddSection("index", chunk.EncodeIndex(nil, entries)); err != nil {
		f.Abort()
		return chunk.ID{}, nil, err
	}
	sum, err := f.Close()
	if err != nil {
		f.Abort()
		return chunk.ID{}, nil, err
	}
	return chunk.ID(sum), entries, nil
}

// uploadErr is the first error of a background upload.
func (w *Writer) uploadErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.putErr
}

// Commit publishes the last pack and the session's index file. It returns
// the bytes written to the store.
func (w *Writer) Commit() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errors.New("store writer closed")
	}
	w.closed = true
	if w.cur != nil {
		if err := w.finishPack(); err != nil {
			w.wg.Wait()
			return 0, err
		}
	}
	w.wg.Wait() // every pack is stored before the index that names it
	if err := w.uploadErr(); err != nil {
		return 0, err
	}
	if len(w.entries) == 0 {
		return w.bytes, nil
	}
	entries := chunk.SortEntries(w.entries)
	dir, err := w.s.be.Staging(context.Background(), "index/")
	if err != nil {
		return 0, err
	}
	f, err := container.CreateFile(dir, "idx", container.KindIndex, w.keys, nil, container.FileOpts{HashContent: true})
	if err != nil {
		return 0, err
	}
	if err := f.AddSection("index", chunk.EncodeIndex(w.packs, entries)); err != nil {
		f.Abort()
		return 0, err
	}
	sum, err := f.Close()
	if err != nil {
		f.Abort()
		return 0, err
	}
	if err := w.s.put(f, "index/"+chunk.ID(sum).String()+".idx"); err != nil {
		f.Abort()
		return 0, err
	}
	w.bytes += f.Size()
	return w.bytes, nil
}

// Abort removes the pack being written. Packs already published stay (they
// are complete and carry their own index; a later GC may remove them).
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.cur != nil {
		w.cur.Abort()
		w.cur = nil
	}
	w.wg.Wait() // uploads in flight end (a finished one is a complete pack)
}

// put publishes the closed content-addressed file f as object name: an
// object of that name already holds the same bytes, which is success.
func (s *Store) put(f *container.FileWriter, name string) error {
	return f.PublishBy(func(tmp string) error {
		err := s.be.Put(context.Background(), tmp, name)
		if errors.Is(err, ErrExist) {
			return nil
		}
		return err
	})
}
