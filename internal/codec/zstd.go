package codec

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

func init() { register(zstdAlgo{}) }

// zstdFlag marks zstd payloads: one zstd frame that decompresses to the chunk.
const zstdFlag = 1

// zstdMaxMemory bounds a decoder's memory: twice the largest chunk the
// format allows (8 MiB).
const zstdMaxMemory = 2 * (8 << 20)

// zstdLevels maps level names to encoder levels, fastest first.
var zstdLevels = []struct {
	name  string
	level zstd.EncoderLevel
}{{"fastest", zstd.SpeedFastest}, {"default", zstd.SpeedDefault}, {"better", zstd.SpeedBetterCompression}}

// native, when set (zstd_cgo.go, in a build with cgo), returns an encoder
// of the reference C library at the level that matches lv: the same
// format, 2.0-2.4x the speed of the Go encoder (file-system data, generated text)
// and an output 2-3 % smaller (docs/benchmarks.md). Decoding always uses the Go
// decoder, whose memory bound guards against a damaged frame.
var native func(lv zstdLevel) Encoder

// zstdLevel is an encoder level of the Go package, which the C encoder maps.
type zstdLevel = zstd.EncoderLevel

// ZstdEncoder says which zstd encoder this build uses (for version output
// and benchmark reports).
func ZstdEncoder() string { return zstdEncoderName }

// zstdAlgo is Zstandard (github.com/klauspost/compress/zstd, or the C
// library for encoding where the build has cgo), the default.
type zstdAlgo struct{}

func (zstdAlgo) Name() string         { return "zstd" }
func (zstdAlgo) Flag() byte           { return zstdFlag }
func (zstdAlgo) DefaultLevel() string { return "fastest" }
func (zstdAlgo) Default() bool        { return true }

func (zstdAlgo) Levels() []string {
	var l []string
	for _, x := range zstdLevels {
		l = append(l, x.name)
	}
	return l
}

func (zstdAlgo) NewEncoder(level string, maxChunk, concurrency int) (Encoder, error) {
	lv := zstd.SpeedFastest
	for _, x := range zstdLevels {
		if x.name == level {
			lv = x.level
		}
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
	if native != nil {
		return native(lv), nil
	}
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(win), zstd.WithEncoderLevel(lv),
		zstd.WithEncoderConcurrency(concurrency), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return zstdEncoder{enc}, nil
}

func (zstdAlgo) NewDecoder(concurrency int) (Decoder, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(concurrency), zstd.WithDecoderMaxMemory(zstdMaxMemory),
		zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return zstdDecoder{dec}, nil
}

type zstdEncoder struct{ e *zstd.Encoder }

func (z zstdEncoder) Encode(dst, src []byte) []byte { return z.e.EncodeAll(src, dst) }
func (z zstdEncoder) Close()                        { z.e.Close() }

type zstdDecoder struct{ d *zstd.Decoder }

func (z zstdDecoder) Decode(dst, src []byte) ([]byte, error) { return z.d.DecodeAll(src, dst) }
func (z zstdDecoder) Close()                                 { z.d.Close() }
