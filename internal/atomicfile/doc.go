// Package atomicfile writes a small file whole or not at all: a temporary
// file in the same folder, synced, then renamed over the name, so that a
// reader (the next run, a Prometheus collector) never sees half of it.
//
// It is for the module's own bookkeeping files (job records, the metrics
// spool, the Prometheus textfile); archives, packs and keys have their own
// publish rules (container.Publish, crypt's key file).
package atomicfile
