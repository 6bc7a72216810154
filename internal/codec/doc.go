// Package codec owns chunk compression: a registry of algorithms, one file
// each (zstd.go, s2.go, none.go), behind the Algorithm interface, and Codec, which
// compresses with the algorithm chosen for new data and decompresses
// payloads of any registered algorithm by their blob flag byte.
//
// Adding an algorithm is adding one file that registers it (with a flag
// byte no other uses: flags are part of the on-disk format) and one test.
// The package must not know about ciphers, chunk ids, files or stores: the
// blob format that carries the flag byte is the container package's.
package codec
