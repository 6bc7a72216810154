package container

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/directio"
)

// FileReader reads a container file. Safe for concurrent use.
type FileReader struct {
	Path     string
	Header   Header
	f        io.ReaderAt
	closer   io.Closer
	osf      localFile // the file, for cache-only reads (nil for other ReaderAts)
	direct   *os.File  // O_DIRECT descriptor, nil when unsupported
	size     int64
	hh       [32]byte
	hdrEnd   int64
	blobEnd  int64
	sections []Section
	sealer   *crypt.Sealer
}

// ErrKeyNeeded means an encrypted file was opened without a master key.
var ErrKeyNeeded = errors.New("the data is encrypted and no master key was given: pass --key-file (or set master_key_file)")

// Object is a stored file to read: a local file, or an object of a store
// backend.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// localFile is implemented by objects that are local files (an *os.File
// embedded): their readers ask the page cache before reading and read
// past it with O_DIRECT (ReadSpan).
type localFile interface {
	Fd() uintptr
	Name() string
}

// osObject is a local file as an Object.
type osObject struct {
	*os.File
	size int64
}

func (o osObject) Size() int64 { return o.size }

// OpenLocal opens a local file as an Object whose readers take the
// O_DIRECT path.
func OpenLocal(path string) (Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return osObject{f, st.Size()}, nil
}

// OpenFile opens and checks a container file: header checksum, trailer
// structure and key check. master may be nil for cipher none; a different
// key gives crypt.ErrWrongKey. With noKey the key check is skipped and the
// sealer left unset (for listing cleartext headers only).
func OpenFile(path string, master []byte, noKey bool) (*FileReader, error) {
	o, err := OpenLocal(path)
	if err != nil {
		return nil, err
	}
	return OpenObject(o, path, master, noKey)
}

// OpenObject is OpenFile over an object, named path in messages; the
// reader closes it. When the object is a local file (it has the methods
// Fd and Name of an embedded *os.File) restores read it with O_DIRECT
// where the page cache does not hold what they read.
func OpenObject(obj Object, path string, master []byte, noKey bool) (*FileReader, error) {
	r, err := ReadFile(obj, obj.Size(), path, master, noKey)
	if err != nil {
		obj.Close()
		return nil, err
	}
	r.closer = obj
	if lf, ok := obj.(localFile); ok {
		r.osf = lf
		if d, err := directio.OpenDirect(lf.Name()); err == nil {
			r.direct = d
		}
	}
	return r, nil
}

// NewBlobReader returns a reader over a bare blob area: bytes [0, size) of
// f are blobs sealed with sealer, without header or sections (blobs held
// elsewhere, for example in memory). It closes f when f is an io.Closer.
func NewBlobReader(path string, f io.ReaderAt, size int64, sealer *crypt.Sealer) *FileReader {
	r := &FileReader{Path: path, f: f, size: size, blobEnd: size, sealer: sealer}
	if c, ok := f.(io.Closer); ok {
		r.closer = c
	}
	return r
}

// ReadFile is OpenFile over any io.ReaderAt of the given size.
func ReadFile(f io.ReaderAt, size int64, path string, master []byte, noKey bool) (*FileReader, error) {
	head := make([]byte, min(size, 64<<10))
	if _, err := f.ReadAt(head, 0); err != nil && !(err == io.EOF && int64(len(head)) == size) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(head) >= len(magic)+4 && string(head[:len(magic)]) == magic {
		need := int64(len(magic)+4) + int64(binary.LittleEndian.Uint32(head[len(magic):])) + hdrSumSize
		if need > int64(len(head)) && need <= maxHeader+64 && need <= size {
			head = make([]byte, need)
			if _, err := f.ReadAt(head, 0); err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
		}
	}
	h, hdrEnd, hh, err := ParseHeader(head)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := &FileReader{Path: path, Header: h, f: f, size: size, hh: hh, hdrEnd: int64(hdrEnd)}
	tl := min(size-int64(hdrEnd), int64(maxSections*sectionRef+12))
	if tl < 12 {
		return nil, fmt.Errorf("%s: %w: truncated file (no trailer)", path, chunk.ErrDamaged)
	}
	tail := make([]byte, tl)
	if _, err := f.ReadAt(tail, size-tl); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	secs, blobEnd, err := ParseTrailer(tail, size, int64(hdrEnd))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.sections, r.blobEnd = secs, blobEnd
	if noKey {
		return r, nil
	}
	if h.Cipher != crypt.None {
		if master == nil {
			return nil, fmt.Errorf("%s: %w", path, ErrKeyNeeded)
		}
		salt, _ := hex.DecodeString(h.Salt)
		kc := crypt.KeyCheck(master, salt)
		if hex.EncodeToString(kc[:]) != h.KeyCheck {
			return nil, fmt.Errorf("%s: %w", path, crypt.ErrWrongKey)
		}
	}
	salt, _ := hex.DecodeString(h.Salt)
	k, err := keysFor(h.Cipher, master, salt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.sealer = k.Sealer
	return r, nil
}

// ReadSpan reads bytes [off, off+n) of the blob area and returns them. It
// takes them from the page cache when they are all there, and otherwise
// reads the aligned span around them with O_DIRECT (no copy into freshly
// allocated cache pages, one large read): restores read archives that are
// usually not cached. scratch is reused when large enough, else given back
// (directio.Put) and replaced by a directio.Get buffer, which the caller gives
// back when done.
func (r *FileReader) ReadSpan(scratch []byte, off, n int64) (data, scratchOut []byte, err error) {
	if off < r.hdrEnd || n < 0 || off+n > r.blobEnd {
		return nil, scratch, fmt.Errorf("%s: %w: span at %d+%d outside the blob area", r.Path, chunk.ErrDamaged, off, n)
	}
	need := n + 2*directio.Align
	if int64(cap(scratch)) < need {
		directio.Put(scratch)
		scratch = directio.Get(int(max(need, 1<<20)))
	}
	if r.direct != nil && !r.cached(off, n) {
		lo := off / directio.Align * directio.Align
		hi := (off + n + directio.Align - 1) / directio.Align * directio.Align
		m, err := r.direct.ReadAt(scratch[:hi-lo], lo)
		if int64(m) >= off+n-lo && (err == nil || err == io.EOF) {
			return scratch[off-lo : off-lo+n], scratch, nil
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return nil, scratch, fmt.Errorf("read %s: %w", r.Path, err)
		}
	}
	if _, err := r.f.ReadAt(scratch[:n], off); err != nil {
		return nil, scratch, fmt.Errorf("read %s: %w", r.Path, err)
	}
	return scratch[:n], scratch, nil
}

// cached reports whether the page cache holds every page of [off, off+n)
// (directio.Cached).
func (r *FileReader) cached(off, n int64) bool {
	return r.osf != nil && directio.Cached(r.osf, off, n)
}

// Sealer is the file's sealer (nil when opened without key).
func (r *FileReader) Sealer() *crypt.Sealer { return r.sealer }

// BlobArea is the byte range holding blobs.
func (r *FileReader) BlobArea() (start, end int64) { return r.hdrEnd, r.blobEnd }

// HasSection reports whether the file has section name.
func (r *FileReader) HasSection(name string) bool {
	for _, s := range r.sections {
		if s.Name == name {
			return true
		}
	}
	return false
}

// ReadBlob reads the sealed blob at off (clen bytes) into dst (reused when
// large enough).
func (r *FileReader) ReadBlob(dst []byte, off uint64, clen uint32) ([]byte, error) {
	if int64(off) < r.hdrEnd || int64(off)+int64(clen) > r.blobEnd {
		return nil, fmt.Errorf("%s: %w: blob at %d+%d outside the blob area", r.Path, chunk.ErrDamaged, off, clen)
	}
	if cap(dst) < int(clen) {
		dst = make([]byte, clen)
	}
	dst = dst[:clen]
	if _, err := r.f.ReadAt(dst, int64(off)); err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Path, err)
	}
	return dst, nil
}

// Section reads, authenticates and decrypts section name.
func (r *FileReader) Section(name string) ([]byte, error) {
	if r.sealer == nil {
		return nil, errors.New("file opened without key")
	}
	for _, s := range r.sections {
		if s.Name != name {
			continue
		}
		b := make([]byte, s.Len)
		if _, err := r.f.ReadAt(b, s.Off); err != nil {
			return nil, fmt.Errorf("read %s section %s: %w", r.Path, name, err)
		}
		p, err := r.sealer.Open(nil, b, sectionAD(name, r.hh))
		if err != nil {
			return nil, fmt.Errorf("%s: %w: section %s: %v", r.Path, chunk.ErrDamaged, name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s: %w: no %s section", r.Path, chunk.ErrDamaged, name)
}

// Close closes the file.
func (r *FileReader) Close() error {
	if r.direct != nil {
		r.direct.Close()
	}
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Size is the file size.
func (r *FileReader) Size() int64 { return r.size }
