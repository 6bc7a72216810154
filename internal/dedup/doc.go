// Package dedup owns chunking and chunk storage: zero detection, FastCDC
// content-defined chunking over parallel segments, keyed chunk ids, pack files
// with a trailer index, the in-memory "seen?" index and the shared chunk store.
// It knows nothing about VMs or the cloud.
package dedup
