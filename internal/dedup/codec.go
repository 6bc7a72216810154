package dedup

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"rb_module_rustack/internal/crypt"
)

// Blob plaintext flags: the first byte of a blob's plaintext says how the rest
// is encoded.
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
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lv), zstd.WithEncoderConcurrency(concurrency),
			zstd.WithEncoderCRC(false), zstd.WithWindowSize(win), zstd.WithZeroFrames(true))
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

// encodePlain appends the blob plaintext of chunk (flag byte + payload) to
// dst: zstd when enabled and it shrinks the chunk, raw otherwise.
func (c *Codec) encodePlain(dst, chunk []byte) []byte {
	if c.enc != nil {
		dst = append(dst, blobZstd)
		dst = c.enc.EncodeAll(chunk, dst)
		if len(dst)-1 < len(chunk) {
			return dst
		}
		dst = dst[:0]
	}
	dst = append(dst, blobRaw)
	return append(dst, chunk...)
}

// decodePlain decodes a blob plaintext into dst[:0], which must have capacity
// plen; the result must be exactly plen bytes.
func (c *Codec) decodePlain(dst, plain []byte, plen int) ([]byte, error) {
	if len(plain) < 1 {
		return nil, fmt.Errorf("%w: empty blob", ErrDamaged)
	}
	var out []byte
	switch plain[0] {
	case blobRaw:
		out = append(dst[:0], plain[1:]...)
	case blobZstd:
		var err error
		out, err = c.dec.DecodeAll(plain[1:], dst[:0])
		if err != nil {
			return nil, fmt.Errorf("%w: decompress: %v", ErrDamaged, err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown blob encoding %d", ErrDamaged, plain[0])
	}
	if len(out) != plen {
		return nil, fmt.Errorf("%w: chunk is %d bytes, want %d", ErrDamaged, len(out), plen)
	}
	return out, nil
}

// SealChunk encodes and seals one chunk for storage with sealer, appending to
// dst; plainBuf is scratch space. It returns the sealed blob and the scratch.
func (c *Codec) SealChunk(sealer *crypt.Sealer, id ID, chunk, plainBuf, dst []byte) (blob, scratch []byte) {
	plain := c.encodePlain(plainBuf[:0], chunk)
	return sealer.Seal(dst, plain, id[:]), plain
}

// OpenChunk opens a sealed blob of chunk id, decodes it into out (capacity
// plen) and checks the recomputed id. plainBuf is scratch space.
func (c *Codec) OpenChunk(sealer *crypt.Sealer, h *IDHasher, id ID, blob []byte, plen int, plainBuf, out []byte) (chunk, scratch []byte, err error) {
	plain, err := sealer.Open(plainBuf[:0], blob, id[:])
	if err != nil {
		return nil, plainBuf, fmt.Errorf("%w: chunk %s: %v", ErrDamaged, id.Short(), err)
	}
	chunk, err = c.decodePlain(out, plain, plen)
	if err != nil {
		return nil, plain, fmt.Errorf("chunk %s: %w", id.Short(), err)
	}
	if h.Sum(chunk) != id {
		return nil, plain, fmt.Errorf("%w: chunk %s: content does not match its id", ErrDamaged, id.Short())
	}
	return chunk, plain, nil
}
