package chunk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// SelfPack in an index entry means "the file holding this index".
const SelfPack = ^uint32(0)

// IndexEntry locates one blob: in pack Pack (an index into the index's pack
// table, or SelfPack) at byte Off, CLen bytes sealed, PLen bytes plaintext.
// In memory an entry costs 56 bytes.
type IndexEntry struct {
	ID   ID
	Off  uint64
	Pack uint32
	CLen uint32
	PLen uint32
}

const indexEntrySize = IDSize + 4 + 8 + 4 + 4 // 52 bytes on disk

// EncodeIndex renders an index section: u32 pack count, 32-byte pack names,
// u32 entry count, entries sorted by id (id, pack u32, off u64, clen u32,
// plen u32), little endian. Entries must be sorted and unique.
func EncodeIndex(packs []ID, entries []IndexEntry) []byte {
	b := make([]byte, 0, 8+len(packs)*IDSize+len(entries)*indexEntrySize)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(packs)))
	for _, p := range packs {
		b = append(b, p[:]...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = append(b, e.ID[:]...)
		b = binary.LittleEndian.AppendUint32(b, e.Pack)
		b = binary.LittleEndian.AppendUint64(b, e.Off)
		b = binary.LittleEndian.AppendUint32(b, e.CLen)
		b = binary.LittleEndian.AppendUint32(b, e.PLen)
	}
	return b
}

// ParseIndex parses an index section. Every entry must refer to a listed
// pack (or SelfPack when selfOK), ids must be strictly ascending, and sizes
// plausible.
func ParseIndex(b []byte, selfOK bool) ([]ID, []IndexEntry, error) {
	bad := func(why string) ([]ID, []IndexEntry, error) {
		return nil, nil, fmt.Errorf("%w: index: %s", ErrDamaged, why)
	}
	if len(b) < 4 {
		return bad("truncated")
	}
	np := uint64(binary.LittleEndian.Uint32(b))
	b = b[4:]
	if np*IDSize > uint64(len(b)) {
		return bad("truncated pack table")
	}
	packs := make([]ID, np)
	for i := range packs {
		copy(packs[i][:], b[i*IDSize:])
	}
	b = b[np*IDSize:]
	if len(b) < 4 {
		return bad("truncated")
	}
	ne := uint64(binary.LittleEndian.Uint32(b))
	b = b[4:]
	if ne*indexEntrySize != uint64(len(b)) {
		return bad("entry count does not match its length")
	}
	entries := make([]IndexEntry, ne)
	for i := range entries {
		e := &entries[i]
		r := b[i*indexEntrySize:]
		copy(e.ID[:], r)
		e.Pack = binary.LittleEndian.Uint32(r[32:])
		e.Off = binary.LittleEndian.Uint64(r[36:])
		e.CLen = binary.LittleEndian.Uint32(r[44:])
		e.PLen = binary.LittleEndian.Uint32(r[48:])
		if e.Pack == SelfPack {
			if !selfOK {
				return bad("entry refers to its own file")
			}
		} else if uint64(e.Pack) >= np {
			return bad("entry refers to a pack not listed")
		}
		if e.PLen > MaxLen || e.CLen == 0 || e.CLen > MaxLen+1024 || e.Off > 1<<62 {
			return bad("implausible entry size")
		}
		if i > 0 && bytes.Compare(entries[i-1].ID[:], e.ID[:]) >= 0 {
			return bad("entries not sorted")
		}
	}
	return packs, entries, nil
}

// SortEntries sorts entries by id and drops duplicates (keeping the first).
func SortEntries(entries []IndexEntry) []IndexEntry {
	slices.SortStableFunc(entries, func(a, b IndexEntry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return slices.CompactFunc(entries, func(a, b IndexEntry) bool { return a.ID == b.ID })
}

// Loc is where a chunk lives: file number (into the owner's file table),
// offset and sizes.
type Loc struct {
	Off  uint64
	File uint32
	CLen uint32
	PLen uint32
}

// Index is an immutable in-memory chunk index: a slice of 56-byte entries
// sorted by id, searched by interpolation on the first 8 id bytes (ids are
// uniformly distributed, so a lookup touches a handful of entries). Safe for
// concurrent lookups.
type Index struct {
	e []IndexEntry // Pack holds the owner's file number
}

// NewIndex builds an index from entries whose Pack field is a file number;
// it sorts them and drops duplicate ids.
func NewIndex(entries []IndexEntry) *Index {
	return &Index{e: SortEntries(entries)}
}

// Len is the number of entries.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return len(x.e)
}

func key8(id *ID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// Lookup finds id.
func (x *Index) Lookup(id ID) (Loc, bool) {
	if x == nil || len(x.e) == 0 {
		return Loc{}, false
	}
	e := x.e
	t := key8(&id)
	lo, hi := 0, len(e)-1
	for step := 0; lo <= hi; step++ {
		klo, khi := key8(&e[lo].ID), key8(&e[hi].ID)
		var mid int
		switch {
		case t < klo || t > khi:
			return Loc{}, false
		case step < 6 && khi > klo:
			// Interpolate: mid = lo + (t-klo)*(hi-lo)/(khi-klo), in 128 bits.
			h, l := bits.Mul64(t-klo, uint64(hi-lo))
			q, _ := bits.Div64(h, l, khi-klo)
			mid = lo + int(q)
		default:
			mid = lo + (hi-lo)/2
		}
		switch c := bytes.Compare(e[mid].ID[:], id[:]); {
		case c == 0:
			m := &e[mid]
			return Loc{Off: m.Off, File: m.Pack, CLen: m.CLen, PLen: m.PLen}, true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid - 1
		}
	}
	return Loc{}, false
}

// Has reports whether id is in the index.
func (x *Index) Has(id ID) bool {
	_, ok := x.Lookup(id)
	return ok
}

// SortByOffset returns the entries sorted by offset (a new slice).
func SortByOffset(es []IndexEntry) []IndexEntry {
	out := append([]IndexEntry(nil), es...)
	slices.SortFunc(out, func(a, b IndexEntry) int {
		switch {
		case a.Off < b.Off:
			return -1
		case a.Off > b.Off:
			return 1
		}
		return 0
	})
	return out
}
