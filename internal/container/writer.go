package container

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/chunk"
)

// FileWriter writes one container file under a temporary name. PutBlob is
// safe for concurrent use; sections and Finish come after all blobs.
type FileWriter struct {
	mu         sync.Mutex
	f          *os.File
	out        *stagedWriter
	tmp        string
	keys       *Keys
	hh         [32]byte
	hdrEnd     int64
	off        int64
	entries    []chunk.IndexEntry
	secs       []Section
	hash       *blake3.Hasher // content hash, when the final name derives from it; written by out
	done       bool
	blobSize   int64
	kind       string
	rewritable bool
}

// SetMeta replaces the header metadata of a file created rewritable. Only
// before the first section.
func (w *FileWriter) SetMeta(meta any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.rewritable || len(w.secs) > 0 || w.done {
		return errors.New("header not rewritable")
	}
	h, err := w.keys.header(w.kind, meta)
	if err != nil {
		return err
	}
	hb, err := encodeHeader(h, HeaderReserve)
	if err != nil {
		return err
	}
	if int64(len(hb)) != w.hdrEnd {
		return errors.New("header metadata too large")
	}
	if err := w.out.rewrite(hb, 0); err != nil {
		return fmt.Errorf("write %s: %w", w.tmp, err)
	}
	w.hh = blake3.Sum256(hb)
	return nil
}

// HeaderReserve is the header JSON size reserved by CreateFile with
// rewritable set, so SetMeta can replace the metadata before sections are
// written.
const HeaderReserve = 8 << 10

// FileOpts tune CreateFile.
type FileOpts struct {
	// HashContent makes the writer hash everything it writes (the hash
	// Close returns), for content-addressed names.
	HashContent bool
	// Rewritable reserves HeaderReserve bytes for the header JSON so
	// SetMeta can update it (not with HashContent).
	Rewritable bool
	// Direct writes past the page cache (O_DIRECT) where the file system
	// allows: for bulk data (archives, packs), which is not read again
	// soon and should not push the data being backed up out of the cache.
	Direct bool
}

// CreateFile creates dir/.tmp-<random>-<hint> and writes its header.
func CreateFile(dir, hint, kind string, keys *Keys, meta any, o FileOpts) (*FileWriter, error) {
	hashContent, rewritable := o.HashContent, o.Rewritable
	h, err := keys.header(kind, meta)
	if err != nil {
		return nil, err
	}
	pad := 0
	if rewritable {
		pad = HeaderReserve
	}
	hb, err := encodeHeader(h, pad)
	if err != nil {
		return nil, err
	}
	if rewritable && len(hb) != len(magic)+4+HeaderReserve+hdrSumSize {
		return nil, errors.New("header metadata too large")
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("random name: %w", err)
	}
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:])+"-"+hint)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	w := &FileWriter{f: f, tmp: tmp, keys: keys, hh: blake3.Sum256(hb), kind: kind, rewritable: rewritable && !hashContent}
	if hashContent {
		w.hash = blake3.New()
	}
	w.out = newStagedWriter(f, tmp, o.Direct, w.hash)
	if err := w.write(hb); err != nil {
		w.Abort()
		return nil, err
	}
	w.hdrEnd = w.off
	return w, nil
}

func (w *FileWriter) write(b []byte) error {
	if err := w.out.write(b); err != nil {
		if _, ok := errors.AsType[*fs.PathError](err); ok {
			return err // it names the file already
		}
		return fmt.Errorf("write %s: %w", w.tmp, err)
	}
	w.off += int64(len(b))
	return nil
}

// PutBlob appends a sealed blob and records its index entry.
func (w *FileWriter) PutBlob(id chunk.ID, blob []byte, plen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.secs) > 0 || w.done {
		return errors.New("blob after sections")
	}
	off := w.off
	if err := w.write(blob); err != nil {
		return err
	}
	w.entries = append(w.entries, chunk.IndexEntry{ID: id, Pack: chunk.SelfPack, Off: uint64(off), CLen: uint32(len(blob)), PLen: uint32(plen)})
	w.blobSize += int64(len(blob))
	return nil
}

// Size is the number of bytes written so far.
func (w *FileWriter) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.off
}

// Entries returns the index entries of the blobs written (not a copy).
func (w *FileWriter) Entries() []chunk.IndexEntry { return w.entries }

// AddSection seals plaintext and appends it as section name (at most 8 ASCII bytes).
func (w *FileWriter) AddSection(name string, plaintext []byte) error {
	if len(name) == 0 || len(name) > 8 {
		return fmt.Errorf("bad section name %q", name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sealed := w.keys.Sealer.Seal(nil, plaintext, sectionAD(name, w.hh))
	if int64(len(sealed)) > MaxSection {
		return fmt.Errorf("section %s too large (%d bytes)", name, len(sealed))
	}
	off := w.off
	if err := w.write(sealed); err != nil {
		return err
	}
	w.secs = append(w.secs, Section{Name: name, Off: off, Len: int64(len(sealed))})
	return nil
}

// Close writes the section table, fsyncs and closes the file (still under
// its temporary name). It returns the content hash when requested.
func (w *FileWriter) Close() ([32]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sum [32]byte
	if len(w.secs) == 0 {
		return sum, errors.New("file without sections")
	}
	t := make([]byte, 0, len(w.secs)*sectionRef+12)
	for _, s := range w.secs {
		var name [8]byte
		copy(name[:], s.Name)
		t = append(t, name[:]...)
		t = binary.LittleEndian.AppendUint64(t, uint64(s.Off))
		t = binary.LittleEndian.AppendUint64(t, uint64(s.Len))
	}
	t = binary.LittleEndian.AppendUint32(t, uint32(len(w.secs)))
	t = append(t, endMagic...)
	if err := w.write(t); err != nil {
		return sum, err
	}
	if err := w.out.finish(); err != nil {
		return sum, fmt.Errorf("%s: %w", w.tmp, err)
	}
	if err := w.f.Sync(); err != nil {
		return sum, fmt.Errorf("sync %s: %w", w.tmp, err)
	}
	if err := w.f.Close(); err != nil {
		return sum, fmt.Errorf("close %s: %w", w.tmp, err)
	}
	w.done = true
	if w.hash != nil {
		w.hash.Sum(sum[:0])
	}
	return sum, nil
}

// Publish gives the closed file its final name without ever replacing an
// existing file. With sameContent, an existing file of that name (content
// addressed) counts as success. The directory is fsynced.
func (w *FileWriter) Publish(final string, sameContent bool) error {
	return w.PublishBy(func(tmp string) error {
		existed, err := Publish(tmp, final)
		if existed && !sameContent {
			return fmt.Errorf("%s already exists; not replacing it", final)
		}
		return err
	})
}

// PublishBy hands the closed file, by its temporary path, to put, which
// gives it its final name (a store backend's put-if-absent). When put
// succeeds the file is no longer the writer's; when it fails, Abort
// removes what is left.
func (w *FileWriter) PublishBy(put func(tmp string) error) error {
	if !w.done {
		return errors.New("publish before close")
	}
	err := put(w.tmp)
	if err == nil {
		w.tmp = ""
	}
	return err
}

// Abort closes and removes the temporary file. Safe to call more than once
// and after Publish.
func (w *FileWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.out.abort()
		w.f.Close()
		w.done = true
	}
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}
