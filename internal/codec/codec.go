package codec

import (
	"fmt"
	"slices"
	"strings"

	"rb_module_rustack/internal/registry"
)

// Raw is the flag of a payload stored as it is: the "none" algorithm's, and
// what any codec falls back to when compression does not shrink a chunk.
const Raw byte = 0

// Algorithm is one compression algorithm.
type Algorithm interface {
	// Name is the name used in the configuration and in manifests.
	Name() string
	// Flag is the byte that marks this algorithm's payloads in blobs
	// (docs/format.md, section 4). Part of the format: never reused.
	Flag() byte
	// Levels are the level names accepted, fastest first; nil when the
	// algorithm has none.
	Levels() []string
	// DefaultLevel is the level used when none is given ("" without levels).
	DefaultLevel() string
	// Default reports whether this is the compression of new data when
	// none is chosen. Exactly one registered algorithm is.
	Default() bool
	// NewEncoder returns an encoder at level (one of Levels, or "" when
	// there are none) for chunks of at most maxChunk bytes, used by up to
	// concurrency goroutines at once. A nil Encoder stores chunks raw.
	NewEncoder(level string, maxChunk, concurrency int) (Encoder, error)
	// NewDecoder returns a decoder used by up to concurrency goroutines at
	// once; nil for Raw, whose payload is the chunk.
	NewDecoder(concurrency int) (Decoder, error)
}

// Encoder compresses chunks. Safe for concurrent use.
type Encoder interface {
	// Encode appends the compressed form of src to dst[:0] and returns it.
	Encode(dst, src []byte) []byte
	Close()
}

// Decoder decompresses payloads. Safe for concurrent use.
type Decoder interface {
	// Decode appends the decompressed payload src to dst[:0] and returns it.
	Decode(dst, src []byte) ([]byte, error)
	Close()
}

// algorithms is the registry, filled by the init functions of the
// algorithm files and read-only afterwards.
var algorithms registry.Registry[Algorithm]

// register adds a; called from init.
func register(a Algorithm) {
	for _, o := range algorithms.List() {
		if o.Flag() == a.Flag() {
			panic("codec: " + a.Name() + " and " + o.Name() + " share a flag")
		}
	}
	algorithms.Add(a)
}

// List returns every algorithm, the default first, then by name.
func List() []Algorithm { return algorithms.List() }

// Lookup finds an algorithm by name.
func Lookup(name string) (Algorithm, bool) { return algorithms.Lookup(name) }

// Names are the names of every algorithm, in List order.
func Names() []string { return algorithms.Names() }

// Levels are the level names of every algorithm, in List order, each once.
func Levels() []string {
	var l []string
	for _, a := range algorithms.List() {
		for _, v := range a.Levels() {
			if !slices.Contains(l, v) {
				l = append(l, v)
			}
		}
	}
	return l
}

// either renders names as "a, b or c".
func either(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Codec compresses chunks with one algorithm and decompresses payloads of
// every registered one. Safe for concurrent use.
type Codec struct {
	enc  Encoder // nil: chunks are stored raw
	flag byte
	dec  [256]Decoder // by flag; nil for Raw and unknown flags
}

// New returns a codec for new data compressed with the algorithm named
// compression ("" for the default) at level ("" for its default; ignored by
// algorithms without levels); maxChunk is the largest chunk, concurrency
// bounds the encoders and decoders kept.
func New(compression, level string, maxChunk, concurrency int) (*Codec, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	a := algorithms.List()[0]
	if compression != "" {
		var ok bool
		if a, ok = Lookup(compression); !ok {
			return nil, fmt.Errorf("compression %q: want %s", compression, either(Names()))
		}
	}
	if lv := a.Levels(); len(lv) > 0 {
		if level == "" {
			level = a.DefaultLevel()
		}
		if !slices.Contains(lv, level) {
			return nil, fmt.Errorf("compression level %q: want %s", level, either(lv))
		}
	} else {
		level = ""
	}
	enc, err := a.NewEncoder(level, maxChunk, concurrency)
	if err != nil {
		return nil, err
	}
	c := &Codec{enc: enc, flag: a.Flag()}
	for _, d := range algorithms.List() {
		dec, err := d.NewDecoder(concurrency)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.dec[d.Flag()] = dec
	}
	return c, nil
}

// Close releases the codec's resources.
func (c *Codec) Close() {
	if c.enc != nil {
		c.enc.Close()
	}
	for _, d := range c.dec {
		if d != nil {
			d.Close()
		}
	}
}

// Compress returns the payload and flag of chunk: its compressed form (in
// dst) when that is shorter, else the chunk itself (no copy) and Raw.
func (c *Codec) Compress(dst, chunk []byte) ([]byte, byte) {
	if c.enc != nil {
		z := c.enc.Encode(dst[:0], chunk)
		if len(z) < len(chunk) {
			return z, c.flag
		}
	}
	return chunk, Raw
}

// CanDecode reports whether payloads with flag can be decompressed (Raw
// payloads need no decoding and are not).
func (c *Codec) CanDecode(flag byte) bool { return c.dec[flag] != nil }

// Decompress decodes a payload of flag (not Raw) into out[:0] (capacity
// plen) and checks that it is plen bytes.
func (c *Codec) Decompress(out, payload []byte, flag byte, plen int) ([]byte, error) {
	d := c.dec[flag]
	if d == nil {
		return nil, fmt.Errorf("unknown blob encoding %d", flag)
	}
	b, err := d.Decode(out[:0], payload)
	if err != nil {
		return nil, fmt.Errorf("decompress: %v", err)
	}
	if len(b) != plen {
		return nil, fmt.Errorf("chunk is %d bytes, want %d", len(b), plen)
	}
	return b, nil
}
