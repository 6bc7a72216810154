package container

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/zeebo/blake3"

	"rb_module_rustack/internal/chunk"
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
		return h, 0, hh, fmt.Errorf("%w: not a rb_module_rustack file (bad magic)", chunk.ErrDamaged)
	}
	n := int(binary.LittleEndian.Uint32(b[len(magic):]))
	if n > maxHeader {
		return h, 0, hh, fmt.Errorf("%w: header length %d too large", chunk.ErrDamaged, n)
	}
	end := len(magic) + 4 + n
	if len(b) < end+hdrSumSize {
		return h, 0, hh, fmt.Errorf("%w: truncated header", chunk.ErrDamaged)
	}
	sum := blake3.Sum256(b[:end])
	if !bytes.Equal(sum[:hdrSumSize], b[end:end+hdrSumSize]) {
		return h, 0, hh, fmt.Errorf("%w: header checksum mismatch", chunk.ErrDamaged)
	}
	dec := json.NewDecoder(bytes.NewReader(b[len(magic)+4 : end]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, 0, hh, fmt.Errorf("%w: header: %v", chunk.ErrDamaged, err)
	}
	if h.Format != 1 {
		return h, 0, hh, fmt.Errorf("file format %d is not supported by this version (want 1): upgrade rb_module_rustack", h.Format)
	}
	switch h.Kind {
	case KindArchive, KindPack, KindIndex:
	default:
		return h, 0, hh, fmt.Errorf("%w: unknown file kind %q", chunk.ErrDamaged, h.Kind)
	}
	if !crypt.ValidCipher(h.Cipher) {
		return h, 0, hh, fmt.Errorf("%w: unknown cipher %q", chunk.ErrDamaged, h.Cipher)
	}
	if s, err := hex.DecodeString(h.Salt); err != nil || len(s) != crypt.SaltSize {
		return h, 0, hh, fmt.Errorf("%w: bad salt", chunk.ErrDamaged)
	}
	if h.Cipher == crypt.None {
		if h.KeyCheck != "" {
			return h, 0, hh, fmt.Errorf("%w: key check with cipher none", chunk.ErrDamaged)
		}
	} else if s, err := hex.DecodeString(h.KeyCheck); err != nil || len(s) != crypt.KeyCheckSize {
		return h, 0, hh, fmt.Errorf("%w: bad key check", chunk.ErrDamaged)
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
		return nil, 0, fmt.Errorf("%w: truncated file (no trailer)", chunk.ErrDamaged)
	}
	if string(tail[len(tail)-8:]) != endMagic {
		return nil, 0, fmt.Errorf("%w: truncated or damaged file (no end marker)", chunk.ErrDamaged)
	}
	n := int(binary.LittleEndian.Uint32(tail[len(tail)-12:]))
	if n < 1 || n > maxSections {
		return nil, 0, fmt.Errorf("%w: bad section count %d", chunk.ErrDamaged, n)
	}
	tl := n*sectionRef + 12
	if len(tail) < tl {
		return nil, 0, fmt.Errorf("%w: truncated trailer", chunk.ErrDamaged)
	}
	table := tail[len(tail)-tl : len(tail)-12]
	tableStart := size - int64(tl)
	secs := make([]Section, n)
	for i := range secs {
		e := table[i*sectionRef:]
		name := string(bytes.TrimRight(e[:8], "\x00"))
		if name == "" || bytes.IndexByte([]byte(name), 0) >= 0 {
			return nil, 0, fmt.Errorf("%w: bad section name", chunk.ErrDamaged)
		}
		secs[i] = Section{Name: name, Off: int64(binary.LittleEndian.Uint64(e[8:])), Len: int64(binary.LittleEndian.Uint64(e[16:]))}
		if secs[i].Len < 0 || secs[i].Len > MaxSection || secs[i].Off < hdrEnd || secs[i].Off > tableStart {
			return nil, 0, fmt.Errorf("%w: bad section %q bounds", chunk.ErrDamaged, name)
		}
		for _, p := range secs[:i] {
			if p.Name == name {
				return nil, 0, fmt.Errorf("%w: duplicate section %q", chunk.ErrDamaged, name)
			}
		}
	}
	for i := 1; i < n; i++ {
		if secs[i].Off != secs[i-1].Off+secs[i-1].Len {
			return nil, 0, fmt.Errorf("%w: sections not contiguous", chunk.ErrDamaged)
		}
	}
	if secs[n-1].Off+secs[n-1].Len != tableStart {
		return nil, 0, fmt.Errorf("%w: sections do not end at the table", chunk.ErrDamaged)
	}
	return secs, secs[0].Off, nil
}
