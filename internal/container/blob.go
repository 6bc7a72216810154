package container

import (
	"fmt"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
)

// A blob is a stored chunk (docs/format.md, section 4): a flag byte in the
// clear saying how the payload is encoded (codec.Raw: the chunk itself;
// otherwise the flag of the codec that compressed it), then the payload
// sealed with the chunk id and the flag as associated data, so no blob can
// stand in for another chunk's.

// blobAD is the associated data of a blob: its chunk id and its flag.
func blobAD(id chunk.ID, flag byte) []byte {
	ad := make([]byte, chunk.IDSize+1)
	copy(ad, id[:])
	ad[chunk.IDSize] = flag
	return ad
}

// SealBlob makes the blob of one chunk, appended to dst: the flag byte in
// the clear, then the sealed payload (compressed by c when that shrinks
// it). scratch holds compressed data; both are returned for reuse.
func SealBlob(c *codec.Codec, sealer *crypt.Sealer, id chunk.ID, data, scratch, dst []byte) (blob, scratchOut []byte) {
	payload, flag := c.Compress(scratch, data)
	if flag != codec.Raw {
		scratch = payload
	}
	dst = append(dst, flag)
	return sealer.Seal(dst, payload, blobAD(id, flag)), scratch
}

// OpenBlob opens the blob of chunk id into out (capacity plen), checks its
// length and, with h not nil, recomputes its id. scratch holds the
// compressed payload. Every error wraps chunk.ErrDamaged.
func OpenBlob(c *codec.Codec, sealer *crypt.Sealer, h *chunk.IDHasher, id chunk.ID, blob []byte, plen int, scratch, out []byte) (data, scratchOut []byte, err error) {
	if len(blob) < 1 {
		return nil, scratch, fmt.Errorf("%w: chunk %s: empty blob", chunk.ErrDamaged, id.Short())
	}
	flag := blob[0]
	switch {
	case flag == codec.Raw:
		data, err = sealer.Open(out[:0], blob[1:], blobAD(id, flag))
		if err == nil && len(data) != plen {
			err = fmt.Errorf("chunk is %d bytes, want %d", len(data), plen)
		}
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: chunk %s: %v", chunk.ErrDamaged, id.Short(), err)
		}
	case c.CanDecode(flag):
		z, err := sealer.Open(scratch[:0], blob[1:], blobAD(id, flag))
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: chunk %s: %v", chunk.ErrDamaged, id.Short(), err)
		}
		scratch = z
		if data, err = c.Decompress(out, z, flag, plen); err != nil {
			return nil, scratch, fmt.Errorf("chunk %s: %w: %v", id.Short(), chunk.ErrDamaged, err)
		}
	default:
		return nil, scratch, fmt.Errorf("%w: chunk %s: unknown blob encoding %d", chunk.ErrDamaged, id.Short(), flag)
	}
	if h != nil && h.Sum(data) != id {
		return nil, scratch, fmt.Errorf("%w: chunk %s: content does not match its id", chunk.ErrDamaged, id.Short())
	}
	return data, scratch, nil
}
