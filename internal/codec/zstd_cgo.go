//go:build cgo && !rb_purego

package codec

import (
	"sync"

	czstd "github.com/DataDog/zstd"
	"github.com/klauspost/compress/zstd"
)

// The C library (github.com/DataDog/zstd, which builds zstd 1.5.7 from its
// own copy of the sources: no system library needed) encodes in builds with
// cgo; build with -tags rb_purego, or CGO_ENABLED=0, for the Go encoder.
func init() { native = newCEncoder }

// zstdEncoderName says which zstd encoder this build uses.
const zstdEncoderName = "C library zstd 1.5.7 (cgo)"

// cLevels maps the Go encoder's levels to the C library's: fastest is
// level 1 (the C library's fastest regular level; its output is a little
// smaller than the Go encoder's SpeedFastest), default 3, better 7.
var cLevels = map[zstd.EncoderLevel]int{zstd.SpeedFastest: 1, zstd.SpeedDefault: 3, zstd.SpeedBetterCompression: 7}

// cEncoder keeps one C context per goroutine at a time (a context is not
// safe for concurrent use); contexts are reused through a pool.
type cEncoder struct {
	level int
	ctxs  sync.Pool
}

func newCEncoder(lv zstd.EncoderLevel) Encoder {
	e := &cEncoder{level: cLevels[lv]} // lv is always one of zstdLevels
	e.ctxs.New = func() any { return czstd.NewCtx() }
	return e
}

// Encode compresses src into one zstd frame; a failure of the C library
// (it has none for valid arguments) returns src itself, which the Codec
// then stores raw.
func (e *cEncoder) Encode(dst, src []byte) []byte {
	ctx := e.ctxs.Get().(czstd.Ctx)
	out, err := ctx.CompressLevel(dst[:0], src, e.level)
	e.ctxs.Put(ctx)
	if err != nil {
		return src
	}
	return out
}

func (e *cEncoder) Close() {}
