package codec

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

func init() { register(s2Algo{}) }

// s2Flag marks S2 payloads: one S2 block (not the framed stream format)
// that decodes to the chunk.
const s2Flag = 2

// s2MaxChunk bounds the length an S2 block may claim before it is decoded:
// the largest chunk the format allows (8 MiB), so that a damaged length
// never makes the decoder allocate more.
const s2MaxChunk = 8 << 20

// s2Algo is S2 (github.com/klauspost/compress/s2), an extension of Snappy:
// several times faster than zstd's fastest level on both ends, for a tenth
// (a tar of /usr files) to a third (the fs benchmark image) more stored
// bytes (docs/benchmarks.md).
type s2Algo struct{}

func (s2Algo) Name() string         { return "s2" }
func (s2Algo) Flag() byte           { return s2Flag }
func (s2Algo) Levels() []string     { return []string{"fastest", "better"} }
func (s2Algo) DefaultLevel() string { return "fastest" }
func (s2Algo) Default() bool        { return false }

func (s2Algo) NewEncoder(level string, _, _ int) (Encoder, error) {
	switch level {
	case "", "fastest":
		return s2Encoder{s2.Encode}, nil
	case "better":
		return s2Encoder{s2.EncodeBetter}, nil
	}
	return nil, fmt.Errorf("s2 level %q: want fastest or better", level)
}

func (s2Algo) NewDecoder(int) (Decoder, error) { return s2Decoder{}, nil }

// s2Encoder is stateless: the block functions allocate nothing when dst
// has room for s2.MaxEncodedLen(len(src)) (a chunk is far below the
// block limit that would make them panic).
type s2Encoder struct{ enc func(dst, src []byte) []byte }

func (e s2Encoder) Encode(dst, src []byte) []byte { return e.enc(dst, src) }
func (s2Encoder) Close()                          {}

type s2Decoder struct{}

func (s2Decoder) Decode(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > s2MaxChunk {
		return nil, fmt.Errorf("s2 block claims %d bytes, more than a chunk can hold", n)
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.Decode(dst[:n], src)
}
func (s2Decoder) Close() {}
