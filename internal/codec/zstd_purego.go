//go:build !cgo || rb_purego

package codec

// zstdEncoderName says which zstd encoder this build uses: without cgo,
// native stays nil and the Go encoder compresses.
const zstdEncoderName = "Go (github.com/klauspost/compress/zstd)"
