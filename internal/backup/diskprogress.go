package backup

import (
	"context"
	"io"
	"os"
	"sync/atomic"

	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/snapshot"
)

// DiskProgress is told, now and then while a disk is read, the bytes of
// that disk read so far and its size. Calls for different disks may come
// concurrently; calls for one disk never do.
type DiskProgress func(label string, done, size int64)

// progressSink passes every disk through a reader that counts the bytes
// read from it and reports them per disk.
type progressSink struct {
	snapshot.Sink
	report DiskProgress
}

func (s progressSink) AddDisk(ctx context.Context, label string, src io.ReaderAt, size int64, p func(int64)) error {
	return s.Sink.AddDisk(ctx, label, newCountingReader(src, label, size, s.report), size, p)
}

// withDiskProgress wraps sink when report is set.
func withDiskProgress(sink snapshot.Sink, report DiskProgress) snapshot.Sink {
	if report == nil {
		return sink
	}
	return progressSink{Sink: sink, report: report}
}

// countingReader counts the bytes its ReadAt returns (the pipeline reads
// each byte of a disk once, in parallel segments) and reports the count
// at most every reportEvery bytes, and at the end.
type countingReader struct {
	src    io.ReaderAt
	label  string
	size   int64
	report DiskProgress
	done   atomic.Int64
	last   atomic.Int64 // count last reported
	busy   atomic.Bool  // a report is being made: one at a time
}

const reportEvery = 4 << 20

func newCountingReader(src io.ReaderAt, label string, size int64, report DiskProgress) *countingReader {
	c := &countingReader{src: src, label: label, size: size, report: report}
	report(label, 0, size)
	return c
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.src.ReadAt(p, off)
	c.count(int64(n))
	return n, err
}

// Skipped counts a hole of a sparse image that the pipeline's hole probe
// cleared instead of reading (chunker.SkipCounter).
func (c *countingReader) Skipped(n int64) { c.count(n) }

// File is the image file under the counter, so that the hole probe finds
// it (chunker.FileReader); nil for a source that is no file.
func (c *countingReader) File() *os.File { return chunker.FileOf(c.src) }

// count adds n bytes done and reports when due.
func (c *countingReader) count(n int64) {
	if n > 0 {
		done := c.done.Add(n)
		if (done-c.last.Load() >= reportEvery || done >= c.size) && c.busy.CompareAndSwap(false, true) {
			// The latest count, so that a report never goes backwards.
			d := c.done.Load()
			if d > c.last.Load() {
				c.last.Store(d)
				c.report(c.label, min(d, c.size), c.size)
			}
			c.busy.Store(false)
		}
	}
}

// SetDiskOrder passes the disk order on (snapshot.Run sets it through the
// sink when the sink has the method).
func (s progressSink) SetDiskOrder(labels []string) {
	if so, ok := s.Sink.(interface{ SetDiskOrder([]string) }); ok {
		so.SetDiskOrder(labels)
	}
}
