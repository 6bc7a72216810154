package dedup

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/crypt"
)

// Container file layout (docs/format.md): every file this engine writes
// (archive, pack, index) is
//
//	magic "RBSTKv1\n" | u32 header length | header JSON | 16-byte header checksum
//	blobs ... | sections ... | section table | u32 section count | "RBSTKEND"
const (
	magic       = "RBSTKv1\n"
	endMagic    = "RBSTKEND"
	hdrSumSize  = 16
	sectionRef  = 24 // name[8] | offset u64 | length u64
	maxHeader   = 1 << 20
	maxSections = 16
	// MaxSection bounds the size of one section (manifest, index).
	MaxSection = 4 << 30
)

// File kinds.
const (
	KindArchive = "archive"
	KindPack    = "pack"
	KindIndex   = "index"
)

// Header is the cleartext header of a container file.
type Header struct {
	Format   int             `json:"format"`
	Kind     string          `json:"kind"`
	Cipher   string          `json:"cipher"`
	Salt     string          `json:"salt"`                // hex, 16 bytes: the data key's salt
	KeyCheck string          `json:"key_check,omitempty"` // hex, 16 bytes; absent for cipher none
	Meta     json.RawMessage `json:"meta,omitempty"`      // kind-specific cleartext metadata
}

// Keys are a file's salt and the sealer derived from it and the master key.
type Keys struct {
	Salt   []byte
	Sealer *crypt.Sealer
	cipher string
	check  string
}

// NewKeys makes a fresh random salt and its sealer. master is nil only for
// cipher none.
func NewKeys(cipherName string, master []byte) (*Keys, error) {
	salt := make([]byte, crypt.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	return keysFor(cipherName, master, salt)
}

func keysFor(cipherName string, master, salt []byte) (*Keys, error) {
	if cipherName != crypt.None && len(master) != crypt.KeySize {
		return nil, fmt.Errorf("cipher %s needs a %d-byte master key", cipherName, crypt.KeySize)
	}
	k := &Keys{Salt: salt, cipher: cipherName}
	var dk [32]byte
	if cipherName != crypt.None {
		dk = crypt.DataKey(master, salt)
		kc := crypt.KeyCheck(master, salt)
		k.check = hex.EncodeToString(kc[:])
	}
	s, err := crypt.NewSealer(cipherName, dk)
	if err != nil {
		return nil, err
	}
	k.Sealer = s
	return k, nil
}

func (k *Keys) header(kind string, meta any) (Header, error) {
	h := Header{Format: 1, Kind: kind, Cipher: k.cipher, Salt: hex.EncodeToString(k.Salt), KeyCheck: k.check}
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return h, fmt.Errorf("header metadata: %w", err)
		}
		h.Meta = b
	}
	return h, nil
}

// encodeHeader renders magic, length, header JSON (padded with spaces to at
// least pad bytes) and checksum.
func encodeHeader(h Header, pad int) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	for len(js) < pad {
		js = append(js, ' ')
	}
	b := make([]byte, 0, len(magic)+4+len(js)+hdrSumSize)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	sum := blake3.Sum256(b)
	return append(b, sum[:hdrSumSize]...), nil
}

// ParseHeader parses the start of a container file; it returns the header,
// its length in bytes and the hash that binds sections to it.
func ParseHeader(b []byte) (Header, int, [32]byte, error) {
	var h Header
	var hh [32]byte
	if len(b) < len(magic)+4 || string(b[:len(magic)]) != magic {
		return h, 0, hh, fmt.Errorf("%w: not a rb_module_rustack file (bad magic)", ErrDamaged)
	}
	n := int(binary.LittleEndian.Uint32(b[len(magic):]))
	if n > maxHeader {
		return h, 0, hh, fmt.Errorf("%w: header length %d too large", ErrDamaged, n)
	}
	end := len(magic) + 4 + n
	if len(b) < end+hdrSumSize {
		return h, 0, hh, fmt.Errorf("%w: truncated header", ErrDamaged)
	}
	sum := blake3.Sum256(b[:end])
	if !bytes.Equal(sum[:hdrSumSize], b[end:end+hdrSumSize]) {
		return h, 0, hh, fmt.Errorf("%w: header checksum mismatch", ErrDamaged)
	}
	dec := json.NewDecoder(bytes.NewReader(b[len(magic)+4 : end]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, 0, hh, fmt.Errorf("%w: header: %v", ErrDamaged, err)
	}
	if h.Format != 1 {
		return h, 0, hh, fmt.Errorf("file format %d is not supported by this version (want 1): upgrade rb_module_rustack", h.Format)
	}
	switch h.Kind {
	case KindArchive, KindPack, KindIndex:
	default:
		return h, 0, hh, fmt.Errorf("%w: unknown file kind %q", ErrDamaged, h.Kind)
	}
	if !crypt.ValidCipher(h.Cipher) {
		return h, 0, hh, fmt.Errorf("%w: unknown cipher %q", ErrDamaged, h.Cipher)
	}
	if s, err := hex.DecodeString(h.Salt); err != nil || len(s) != crypt.SaltSize {
		return h, 0, hh, fmt.Errorf("%w: bad salt", ErrDamaged)
	}
	if h.Cipher == crypt.None {
		if h.KeyCheck != "" {
			return h, 0, hh, fmt.Errorf("%w: key check with cipher none", ErrDamaged)
		}
	} else if s, err := hex.DecodeString(h.KeyCheck); err != nil || len(s) != crypt.KeyCheckSize {
		return h, 0, hh, fmt.Errorf("%w: bad key check", ErrDamaged)
	}
	hh = blake3.Sum256(b[:end+hdrSumSize])
	return h, end + hdrSumSize, hh, nil
}

// sectionAD is the associated data of a section: its name and the header hash.
func sectionAD(name string, hh [32]byte) []byte {
	ad := make([]byte, 0, 8+len(name)+1+32)
	ad = append(ad, "section:"...)
	ad = append(ad, name...)
	ad = append(ad, 0)
	return append(ad, hh[:]...)
}

// Section is one entry of the section table.
type Section struct {
	Name     string
	Off, Len int64
}

// ParseTrailer parses the section table at the end of a file of the given
// size whose header ends at hdrEnd. tail holds the last bytes of the file
// (at least the table). It returns the sections and the end of the blob area.
// Sections must be contiguous and end exactly where the table starts.
func ParseTrailer(tail []byte, size, hdrEnd int64) ([]Section, int64, error) {
	if len(tail) < 12 || int64(len(tail)) > size {
		return nil, 0, fmt.Errorf("%w: truncated file (no trailer)", ErrDamaged)
	}
	if string(tail[len(tail)-8:]) != endMagic {
		return nil, 0, fmt.Errorf("%w: truncated or damaged file (no end marker)", ErrDamaged)
	}
	n := int(binary.LittleEndian.Uint32(tail[len(tail)-12:]))
	if n < 1 || n > maxSections {
		return nil, 0, fmt.Errorf("%w: bad section count %d", ErrDamaged, n)
	}
	tl := n*sectionRef + 12
	if len(tail) < tl {
		return nil, 0, fmt.Errorf("%w: truncated trailer", ErrDamaged)
	}
	table := tail[len(tail)-tl : len(tail)-12]
	tableStart := size - int64(tl)
	secs := make([]Section, n)
	for i := range secs {
		e := table[i*sectionRef:]
		name := string(bytes.TrimRight(e[:8], "\x00"))
		if name == "" || bytes.IndexByte([]byte(name), 0) >= 0 {
			return nil, 0, fmt.Errorf("%w: bad section name", ErrDamaged)
		}
		secs[i] = Section{Name: name, Off: int64(binary.LittleEndian.Uint64(e[8:])), Len: int64(binary.LittleEndian.Uint64(e[16:]))}
		if secs[i].Len < 0 || secs[i].Len > MaxSection || secs[i].Off < hdrEnd || secs[i].Off > tableStart {
			return nil, 0, fmt.Errorf("%w: bad section %q bounds", ErrDamaged, name)
		}
		for _, p := range secs[:i] {
			if p.Name == name {
				return nil, 0, fmt.Errorf("%w: duplicate section %q", ErrDamaged, name)
			}
		}
	}
	for i := 1; i < n; i++ {
		if secs[i].Off != secs[i-1].Off+secs[i-1].Len {
			return nil, 0, fmt.Errorf("%w: sections not contiguous", ErrDamaged)
		}
	}
	if secs[n-1].Off+secs[n-1].Len != tableStart {
		return nil, 0, fmt.Errorf("%w: sections do not end at the table", ErrDamaged)
	}
	return secs, secs[0].Off, nil
}

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
	entries    []IndexEntry
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
func (w *FileWriter) PutBlob(id ID, blob []byte, plen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.secs) > 0 || w.done {
		return errors.New("blob after sections")
	}
	off := w.off
	if err := w.write(blob); err != nil {
		return err
	}
	w.entries = append(w.entries, IndexEntry{ID: id, Pack: SelfPack, Off: uint64(off), CLen: uint32(len(blob)), PLen: uint32(plen)})
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
func (w *FileWriter) Entries() []IndexEntry { return w.entries }

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
	if !w.done {
		return errors.New("publish before close")
	}
	err := publish(w.tmp, final, sameContent)
	if err == nil {
		w.tmp = ""
	}
	return err
}

// publish links tmp to final (failing if final exists), removes tmp and
// fsyncs the directory.
func publish(tmp, final string, sameContent bool) error {
	if err := os.Link(tmp, final); err != nil {
		switch {
		case errors.Is(err, fs.ErrExist):
			if !sameContent {
				return fmt.Errorf("%s already exists; not replacing it", final)
			}
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EXDEV):
			// No hard links on this file system: rename after checking.
			if _, serr := os.Lstat(final); serr == nil {
				if !sameContent {
					return fmt.Errorf("%s already exists; not replacing it", final)
				}
			} else if rerr := os.Rename(tmp, final); rerr != nil {
				return fmt.Errorf("rename to %s: %w", final, rerr)
			} else {
				return syncDir(filepath.Dir(final))
			}
		default:
			return fmt.Errorf("link %s: %w", final, err)
		}
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	return syncDir(filepath.Dir(final))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
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

// FileReader reads a container file. Safe for concurrent use.
type FileReader struct {
	Path     string
	Header   Header
	f        io.ReaderAt
	closer   io.Closer
	osf      *os.File // the file, for cache-only reads (nil for other ReaderAts)
	direct   *os.File // O_DIRECT descriptor, nil when unsupported
	size     int64
	hh       [32]byte
	hdrEnd   int64
	blobEnd  int64
	sections []Section
	sealer   *crypt.Sealer
}

// ErrKeyNeeded means an encrypted file was opened without a master key.
var ErrKeyNeeded = errors.New("the data is encrypted and no master key was given: pass --key-file (or set master_key_file)")

// OpenFile opens and checks a container file: header checksum, trailer
// structure and key check. master may be nil for cipher none; a different
// key gives crypt.ErrWrongKey. With noKey the key check is skipped and the
// sealer left unset (for listing cleartext headers only).
func OpenFile(path string, master []byte, noKey bool) (*FileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := ReadFile(f, st.Size(), path, master, noKey)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer, r.osf = f, f
	if d, err := os.Open(path); err == nil {
		if _, err := unix.FcntlInt(d.Fd(), unix.F_SETFL, unix.O_DIRECT); err == nil {
			r.direct = d
		} else {
			d.Close()
		}
	}
	return r, nil
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
		return nil, fmt.Errorf("%s: %w: truncated file (no trailer)", path, ErrDamaged)
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

// ReadSpan reads bytes [off, off+n) of the blob area and returns them. It
// takes them from the page cache when they are all there, and otherwise
// reads the aligned span around them with O_DIRECT (no copy into freshly
// allocated cache pages, one large read): restores read archives that are
// usually not cached. scratch is reused when large enough, else given back
// (putDirect) and replaced by a getDirect buffer, which the caller gives
// back when done.
func (r *FileReader) ReadSpan(scratch []byte, off, n int64) (data, scratchOut []byte, err error) {
	if off < r.hdrEnd || n < 0 || off+n > r.blobEnd {
		return nil, scratch, fmt.Errorf("%s: %w: span at %d+%d outside the blob area", r.Path, ErrDamaged, off, n)
	}
	need := n + 2*directAlign
	if int64(cap(scratch)) < need {
		putDirect(scratch)
		scratch = getDirect(int(max(need, 1<<20)))
	}
	if r.direct != nil && !r.cached(off, n) {
		lo := off / directAlign * directAlign
		hi := (off + n + directAlign - 1) / directAlign * directAlign
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

// cached reports whether the page cache holds every page of [off, off+n),
// asking the kernel without reading anything (cachestat, Linux 6.5). A
// probing read (RWF_NOWAIT) would not do: on a miss it starts readahead of
// the range, which the O_DIRECT read then reads a second time. Where
// cachestat is missing or refused, the answer is no: a direct read is
// always correct.
func (r *FileReader) cached(off, n int64) bool {
	if r.osf == nil || n <= 0 {
		return false
	}
	rng := unix.CachestatRange{Off: uint64(off), Len: uint64(n)}
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(r.osf.Fd()), &rng, &cs, 0); err != nil {
		return false
	}
	page := int64(os.Getpagesize())
	pages := (off+n+page-1)/page - off/page
	return int64(cs.Cache) >= pages
}

// Size is the file size.
func (r *FileReader) Size() int64 { return r.size }

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
			return nil, fmt.Errorf("%s: %w: section %s: %v", r.Path, ErrDamaged, name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s: %w: no %s section", r.Path, ErrDamaged, name)
}

// ReadBlob reads the sealed blob at off (clen bytes) into dst (reused when
// large enough).
func (r *FileReader) ReadBlob(dst []byte, off uint64, clen uint32) ([]byte, error) {
	if int64(off) < r.hdrEnd || int64(off)+int64(clen) > r.blobEnd {
		return nil, fmt.Errorf("%s: %w: blob at %d+%d outside the blob area", r.Path, ErrDamaged, off, clen)
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
