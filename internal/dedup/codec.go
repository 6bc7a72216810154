package dedup

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"rb_module_rustack/internal/crypt"
)

// Blob flags: the first byte of a blob says how its payload is encoded.
const (
	blobRaw  = 0
	blobZstd = 1
)

// ErrDamaged is wrapped by every error about damaged stored data (failed tag,
// wrong chunk id, bad structure, truncation).
var ErrDamaged = errors.New("damaged data")

// Codec compresses chunks and decompresses blobs. Safe for concurrent use.
type Codec struct {
	enc *zstd.Encoder // nil: compression off
	dec *zstd.Decoder
}

// NewCodec returns a codec. compression is "zstd" or "none"; level is
// "fastest" (default), "default" or "better"; concurrency bounds the zstd
// encoders and decoders kept.
func NewCodec(compression, level string, maxChunk, concurrency int) (*Codec, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	c := &Codec{}
	switch compression {
	case "", "zstd":
		var lv zstd.EncoderLevel
		switch level {
		case "", "fastest":
			lv = zstd.SpeedFastest
		case "default":
			lv = zstd.SpeedDefault
		case "better":
			lv = zstd.SpeedBetterCompression
		default:
			return nil, fmt.Errorf("compression level %q: want fastest, default or better", level)
		}
		win := zstd.MinWindowSize
		for win < maxChunk && win < zstd.MaxWindowSize {
			win <<= 1
		}
		// The window size goes first: set after the level, it would leave
		// SpeedFastest's 64 KiB blocks, and a chunk over one block is
		// encoded with history, block by block. With the window set first
		// the blocks are 128 KiB (zstd's largest), so the typical chunk (64
		// to 128 KiB) is one block encoded without history: about 5 %
		// faster on text, the same output size.
		enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(win), zstd.WithEncoderLevel(lv),
			zstd.WithEncoderConcurrency(concurrency), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		c.enc = enc
	case "none":
	default:
		return nil, fmt.Errorf("compression %q: want zstd or none", compression)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(concurrency), zstd.WithDecoderMaxMemory(uint64(MaxChunkLimit)*2),
		zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	c.dec = dec
	return c, nil
}

// Close releases the codec's resources.
func (c *Codec) Close() {
	if c.enc != nil {
		c.enc.Close()
	}
	c.dec.Close()
}

// compress returns the payload and flag of chunk: its zstd frame (in dst)
// when compression is on and shrinks it, else the chunk itself (no copy).
func (c *Codec) compress(dst, chunk []byte) ([]byte, byte) {
	if c.enc != nil {
		z := c.enc.EncodeAll(chunk, dst[:0])
		if len(z) < len(chunk) {
			return z, blobZstd
		}
	}
	return chunk, blobRaw
}

// decompress decodes a zstd payload into out[:0] (capacity plen).
func (c *Codec) decompress(out, payload []byte, plen int) ([]byte, error) {
	d, err := c.dec.DecodeAll(payload, out[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %v", ErrDamaged, err)
	}
	if len(d) != plen {
		return nil, fmt.Errorf("%w: chunk is %d bytes, want %d", ErrDamaged, len(d), plen)
	}
	return d, nil
}

// blobAD is the associated data of a blob: its chunk id and its flag.
func blobAD(id ID, flag byte) []byte {
	ad := make([]byte, IDSize+1)
	copy(ad, id[:])
	ad[IDSize] = flag
	return ad
}

// SealChunk makes the blob of one chunk, appended to dst: the flag byte
// (0 raw, 1 zstd) in the clear, then the sealed payload with the chunk id
// and the flag as associated data. scratch holds compressed data; both are
// returned for reuse.
func (c *Codec) SealChunk(sealer *crypt.Sealer, id ID, chunk, scratch, dst []byte) (blob, scratchOut []byte) {
	payload, flag := c.compress(scratch, chunk)
	if flag == blobZstd {
		scratch = payload
	}
	dst = append(dst, flag)
	return sealer.Seal(dst, payload, blobAD(id, flag)), scratch
}

// OpenChunk opens the blob of chunk id into out (capacity plen), checks its
// length and, with h not nil, recomputes its id. scratch holds the
// compressed payload.
func (c *Codec) OpenChunk(sealer *crypt.Sealer, h *IDHasher, id ID, blob []byte, plen int, scratch, out []byte) (chunk, scratchOut []byte, err error) {
	if len(blob) < 1 {
		return nil, scratch, fmt.Errorf("%w: chunk %s: empty blob", ErrDamaged, id.Short())
	}
	flag := blob[0]
	switch flag {
	case blobRaw:
		chunk, err = sealer.Open(out[:0], blob[1:], blobAD(id, flag))
		if err == nil && len(chunk) != plen {
			err = fmt.Errorf("chunk is %d bytes, want %d", len(chunk), plen)
		}
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: chunk %s: %v", ErrDamaged, id.Short(), err)
		}
	case blobZstd:
		z, err := sealer.Open(scratch[:0], blob[1:], blobAD(id, flag))
		if err != nil {
			return nil, scratch, fmt.Errorf("%w: chunk %s: %v", ErrDamaged, id.Short(), err)
		}
		scratch = z
		if chunk, err = c.decompress(out, z, plen); err != nil {
			return nil, scratch, fmt.Errorf("chunk %s: %w", id.Short(), err)
		}
	default:
		return nil, scratch, fmt.Errorf("%w: chunk %s: unknown blob encoding %d", ErrDamaged, id.Short(), flag)
	}
	if h != nil && h.Sum(chunk) != id {
		return nil, scratch, fmt.Errorf("%w: chunk %s: content does not match its id", ErrDamaged, id.Short())
	}
	return chunk, scratch, nil
}
