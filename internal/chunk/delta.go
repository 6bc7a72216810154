package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// A chunk stored as a delta (docs/format.md, section 6) is not kept as a
// blob of its own: it is rebuilt from the disk bytes it replaced (its
// bases: the chunks that covered the same disk range in the parent
// archive) with the byte ranges that changed written over them. The
// changed ranges are the content of an ordinary chunk, the patch, stored
// and found like any other chunk; so a small write into a large chunk
// costs about the bytes it wrote.

// Delta says how one chunk is rebuilt.
type Delta struct {
	Patch    ID    // the patch chunk (PatchLen plaintext bytes)
	PatchLen int64 // plaintext length of the patch
	Bases    []Base
}

// Base is one chunk of the bytes a delta patches: its content (id ID, Len
// bytes; itself stored whole when Delta is nil, else as a delta) starts Off
// bytes after the start of the rebuilt chunk (Off < 0: before it). Bytes of
// the rebuilt chunk that no base covers start as zeros.
type Base struct {
	Off   int64
	Len   int64
	ID    ID
	Delta *Delta
}

// Limits of a delta, checked by ParseDelta.
const (
	// MaxDeltaDepth bounds the nesting of deltas (a base stored as a delta
	// of a base stored as a delta...). Writers rebase earlier, at
	// DeltaRebaseDepth.
	MaxDeltaDepth = 8
	// MaxDeltaBases bounds the bases of one delta.
	MaxDeltaBases = 8
	// DeltaRebaseDepth is the depth from which a writer stores a changed
	// chunk whole again, so that a read needs at most this many patches.
	DeltaRebaseDepth = 4
)

// Depth is 1 for a delta whose bases are whole chunks, and one more than
// its deepest base otherwise.
func (d *Delta) Depth() int {
	if d == nil {
		return 0
	}
	deep := 0
	for _, b := range d.Bases {
		deep = max(deep, b.Delta.Depth())
	}
	return deep + 1
}

// EachBlob calls fn with every stored chunk (id, plaintext length) a
// chunk of content id and length n needs: id itself when d is nil, else
// the patch and, recursively, what its bases need. A chunk may be named
// more than once.
func EachBlob(id ID, n int64, d *Delta, fn func(id ID, n int64)) {
	if d == nil {
		fn(id, n)
		return
	}
	fn(d.Patch, d.PatchLen)
	for _, b := range d.Bases {
		EachBlob(b.ID, b.Len, b.Delta, fn)
	}
}

// Blobs calls fn with every stored chunk the run needs (none for a hole).
func (r Run) Blobs(fn func(id ID, n int64)) {
	if !r.Hole {
		EachBlob(r.ID, r.Len, r.Delta, fn)
	}
}

// AppendDelta encodes d: patch id, uvarint patch length, base count byte,
// then per base a zigzag varint offset, a uvarint length, a kind byte (0
// whole, 2 delta), the 32-byte id and, for kind 2, the base's delta.
func AppendDelta(b []byte, d *Delta) []byte {
	b = append(b, d.Patch[:]...)
	b = binary.AppendUvarint(b, uint64(d.PatchLen))
	b = append(b, byte(len(d.Bases)))
	for _, x := range d.Bases {
		b = binary.AppendVarint(b, x.Off)
		b = binary.AppendUvarint(b, uint64(x.Len))
		if x.Delta == nil {
			b = append(b, 0)
			b = append(b, x.ID[:]...)
			continue
		}
		b = append(b, 2)
		b = append(b, x.ID[:]...)
		b = AppendDelta(b, x.Delta)
	}
	return b
}

var errDelta = fmt.Errorf("%w: delta", ErrDamaged)

// ParseDelta decodes a delta of a chunk of n bytes from the front of b and
// returns the rest. Every base must overlap the chunk, lengths be plausible
// and the nesting at most MaxDeltaDepth deep.
func ParseDelta(b []byte, n int64) (*Delta, []byte, error) {
	return parseDelta(b, n, 1)
}

func parseDelta(b []byte, n int64, depth int) (*Delta, []byte, error) {
	bad := func(why string) (*Delta, []byte, error) { return nil, nil, fmt.Errorf("%w: %s", errDelta, why) }
	if depth > MaxDeltaDepth {
		return bad("nested too deep")
	}
	if len(b) < IDSize+2 {
		return bad("truncated")
	}
	d := &Delta{}
	copy(d.Patch[:], b)
	b = b[IDSize:]
	pl, k := uvarint(b)
	if k <= 0 || pl == 0 || pl > MaxLen {
		return bad("bad patch length")
	}
	d.PatchLen = int64(pl)
	b = b[k:]
	if len(b) < 1 {
		return bad("truncated")
	}
	nb := int(b[0])
	b = b[1:]
	if nb < 1 || nb > MaxDeltaBases {
		return bad("bad base count")
	}
	d.Bases = make([]Base, nb)
	for i := range d.Bases {
		x := &d.Bases[i]
		off, k := varint(b)
		if k <= 0 {
			return bad("bad base offset")
		}
		b = b[k:]
		l, k := uvarint(b)
		if k <= 0 || l == 0 || l > MaxLen {
			return bad("bad base length")
		}
		b = b[k:]
		x.Off, x.Len = off, int64(l)
		if x.Off >= n || x.Off+x.Len <= 0 {
			return bad("a base does not overlap its chunk")
		}
		if len(b) < 1+IDSize {
			return bad("truncated")
		}
		kind := b[0]
		copy(x.ID[:], b[1:])
		b = b[1+IDSize:]
		switch kind {
		case 0:
		case 2:
			var err error
			if x.Delta, b, err = parseDelta(b, x.Len, depth+1); err != nil {
				return nil, nil, err
			}
		default:
			return bad("bad base kind")
		}
	}
	return d, b, nil
}

// uvarint and varint are binary.Uvarint and binary.Varint that refuse an
// overlong encoding (0xff 0x00 for 127): a delta has exactly one encoding
// and re-encodes to the bytes it was read from.
func uvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k > 0 && k != len(binary.AppendUvarint(nil, v)) {
		return 0, -1
	}
	return v, k
}

func varint(b []byte) (int64, int) {
	v, k := binary.Varint(b)
	if k > 0 && k != len(binary.AppendVarint(nil, v)) {
		return 0, -1
	}
	return v, k
}

// A patch (the content of a delta's patch chunk) is a uvarint count of
// byte ranges, then per range a uvarint gap (bytes since the end of the
// previous range, or since the start of the chunk), a uvarint length
// (at least 1) and the range's new bytes.

// PatchGranule is the unit in which MakePatch compares old and new bytes:
// a sector, so a 4 KiB write costs 4 KiB, and the comparison runs at
// memory speed.
const PatchGranule = 512

// patchMergeGap joins two changed ranges closer than this: a range's
// header costs a few bytes.
const patchMergeGap = 16

// MakePatch appends to dst the patch that turns old into cur (same
// length) and returns it with the number of new bytes it carries. Ranges
// are found in granules of PatchGranule bytes aligned to the disk (phase is
// the disk offset of cur[0] modulo PatchGranule), so they line up with the
// writes that made them.
func MakePatch(dst, old, cur []byte, phase int) ([]byte, int) {
	if len(old) != len(cur) {
		panic("chunk: MakePatch of different lengths")
	}
	type span struct{ lo, hi int }
	var spans []span
	first := (PatchGranule - phase%PatchGranule) % PatchGranule
	for lo := 0; lo < len(cur); {
		hi := min(len(cur), lo+PatchGranule)
		if lo == 0 && first > 0 {
			hi = min(len(cur), first)
		}
		if !bytes.Equal(old[lo:hi], cur[lo:hi]) {
			// Narrow the granule to its first and last changed byte.
			a, z := lo, hi
			for old[a] == cur[a] {
				a++
			}
			for old[z-1] == cur[z-1] {
				z--
			}
			if n := len(spans); n > 0 && a-spans[n-1].hi < patchMergeGap {
				spans[n-1].hi = z
			} else {
				spans = append(spans, span{a, z})
			}
		}
		lo = hi
	}
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	prev, lit := 0, 0
	for _, s := range spans {
		dst = binary.AppendUvarint(dst, uint64(s.lo-prev))
		dst = binary.AppendUvarint(dst, uint64(s.hi-s.lo))
		dst = append(dst, cur[s.lo:s.hi]...)
		prev, lit = s.hi, lit+s.hi-s.lo
	}
	return dst, lit
}

// ErrPatch is wrapped by the errors of ApplyPatch.
var ErrPatch = errors.New("bad patch")

// ApplyPatch writes the ranges of patch p over out. The ranges must lie
// inside out, in order, and p must end with the last one.
func ApplyPatch(out, p []byte) error {
	bad := func(why string) error { return fmt.Errorf("%w: %w: %s", ErrDamaged, ErrPatch, why) }
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(out)) {
		return bad("bad range count")
	}
	p = p[k:]
	pos := uint64(0)
	for range n {
		gap, k := binary.Uvarint(p)
		if k <= 0 {
			return bad("bad gap")
		}
		p = p[k:]
		l, k := binary.Uvarint(p)
		if k <= 0 || l == 0 {
			return bad("bad range length")
		}
		p = p[k:]
		if gap > uint64(len(out))-pos || l > uint64(len(out))-pos-gap || l > uint64(len(p)) {
			return bad("range outside the chunk or truncated")
		}
		pos += gap
		copy(out[pos:pos+l], p[:l])
		p = p[l:]
		pos += l
	}
	if len(p) != 0 {
		return bad("trailing bytes")
	}
	return nil
}
