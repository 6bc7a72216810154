// Package chunk is the small vocabulary the engine's packages share: chunk
// ids and the keyed BLAKE3 hasher that makes them, index entries and their
// encoding (the index section of container files), the in-memory Index, the
// set of ids claimed by a session, a disk's runs (chunk | hole) and the
// errors about damaged or missing data.
//
// It must not know about files, ciphers, compression, chunking or where
// chunks are stored: everything else builds on it.
package chunk
