package dedup

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// stageSize is the size of one O_DIRECT write of a stagedWriter.
const stageSize = 4 << 20

// directAlign is the alignment O_DIRECT needs (offsets, lengths, memory).
const directAlign = 4096

// stagedWriter appends to a new file in 4 MiB writes: bytes collect in one
// of two aligned buffers while a background goroutine writes the other, so
// callers never wait for the file system. With direct it writes past the
// page cache (O_DIRECT), sparing the copy into freshly allocated cache
// pages and leaving the cache to data that is read; where the file system
// refuses O_DIRECT, and without direct, it writes through the page cache,
// starting writeback as it goes. Not safe for concurrent use.
type stagedWriter struct {
	f        *os.File // regular descriptor: buffered writes, header rewrite, fsync
	d        *os.File // O_DIRECT descriptor, nil when unsupported
	bufs     [2][]byte
	cur      int
	n        int   // bytes in bufs[cur]
	base     int64 // file offset of bufs[cur][0]
	reqs     chan stageReq
	res      chan error
	inflight bool
	direct   bool // owned by the flusher while a request is in flight
}

type stageReq struct {
	b   []byte
	off int64
}

func newStagedWriter(f *os.File, path string, direct bool) *stagedWriter {
	s := &stagedWriter{f: f}
	if direct {
		if d, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT, 0); err == nil {
			s.d, s.direct = d, true
		}
	}
	for i := range s.bufs {
		s.bufs[i] = alignedBuf(stageSize, directAlign)
	}
	reqs, res := make(chan stageReq), make(chan error, 1)
	s.reqs, s.res = reqs, res
	go func() {
		for r := range reqs {
			res <- s.writeAt(r.b, r.off)
		}
	}()
	return s
}

// writeAt writes b (aligned in memory, offset and, except at the end, length)
// directly, or through the page cache when direct I/O is refused.
func (s *stagedWriter) writeAt(b []byte, off int64) error {
	if s.direct && len(b)%directAlign == 0 {
		n, err := s.d.WriteAt(b, off)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || n != 0 {
			return err
		}
		s.direct = false // the file system takes no direct I/O after all
	}
	if _, err := s.f.WriteAt(b, off); err != nil {
		return err
	}
	// Start writeback now so the final fsync has little left to do.
	_ = unix.SyncFileRange(int(s.f.Fd()), off, int64(len(b)), unix.SYNC_FILE_RANGE_WRITE)
	return nil
}

// wait waits for the write in flight.
func (s *stagedWriter) wait() error {
	if !s.inflight {
		return nil
	}
	s.inflight = false
	return <-s.res
}

// write appends b.
func (s *stagedWriter) write(b []byte) error {
	for len(b) > 0 {
		c := copy(s.bufs[s.cur][s.n:], b)
		s.n += c
		b = b[c:]
		if s.n == stageSize {
			if err := s.wait(); err != nil {
				return err
			}
			s.reqs <- stageReq{s.bufs[s.cur], s.base}
			s.inflight = true
			s.cur = 1 - s.cur
			s.n = 0
			s.base += stageSize
		}
	}
	return nil
}

// rewrite replaces bytes already appended at off (the header).
func (s *stagedWriter) rewrite(b []byte, off int64) error {
	if err := s.wait(); err != nil {
		return err
	}
	if off >= s.base {
		if off+int64(len(b)) > s.base+int64(s.n) {
			return errors.New("rewrite past the end")
		}
		copy(s.bufs[s.cur][off-s.base:], b)
		return nil
	}
	if off+int64(len(b)) > s.base {
		return errors.New("rewrite across a write boundary")
	}
	_, err := s.f.WriteAt(b, off) // coherent with the direct writes before it
	return err
}

// finish writes what is buffered and stops the flusher; the caller fsyncs.
func (s *stagedWriter) finish() error {
	err := s.wait()
	close(s.reqs)
	s.reqs = nil
	if err == nil && s.n > 0 {
		b := s.bufs[s.cur][:s.n]
		al := s.n / directAlign * directAlign
		if al > 0 {
			err = s.writeAt(b[:al], s.base)
		}
		if err == nil && al < s.n {
			_, err = s.f.WriteAt(b[al:], s.base+int64(al))
		}
	}
	if s.d != nil {
		if cerr := s.d.Close(); err == nil {
			err = cerr
		}
		s.d = nil
	}
	s.bufs = [2][]byte{}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// abort stops the flusher without writing the rest.
func (s *stagedWriter) abort() {
	s.wait()
	if s.reqs != nil {
		close(s.reqs)
		s.reqs = nil
	}
	if s.d != nil {
		s.d.Close()
		s.d = nil
	}
}
