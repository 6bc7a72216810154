// Package chunker cuts disk bytes into chunks: zero detection (aligned
// 4 KiB blocks, holes of at least HoleMin bytes, and the hole probe that
// asks a sparse file where its data is instead of reading its holes) and
// FastCDC content-defined chunking with a keyed gear table.
//
// It decides where chunks begin and end, nothing more: it must not know
// about chunk ids, ciphers, compression, files written or stores.
package chunker
