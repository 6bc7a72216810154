package container

import (
	"errors"
	"fmt"
	"os"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/directio"
)

// stageSize is the size of one O_DIRECT write of a stagedWriter.
const stageSize = 4 << 20

// stageBufs is the number of stage buffers: one filling, the others
// queued for or being written.
const stageBufs = 4

// stagedWriter appends to a new file in 4 MiB writes: bytes collect in a
// stage buffer while a background goroutine writes the full ones, so
// callers wait for the file system only when stageBufs-1 writes are
// queued. With direct it writes past the page cache (O_DIRECT), sparing
// the copy into freshly allocated cache pages and leaving the cache to
// data that is read; where the file system refuses O_DIRECT, and without
// direct, it writes through the page cache, starting writeback as it goes.
// Every directio.SyncEvery bytes it starts an fdatasync in the background
// (directio.Syncer), so the caller's final fsync has little left to do.
// With a hash, the flusher also hashes every byte in file order, off the
// caller's path (callers append under a lock that other writers wait on).
// Not safe for concurrent use.
type stagedWriter struct {
	f        *os.File // regular descriptor: buffered writes, header rewrite, fsync
	d        *os.File // O_DIRECT descriptor, nil when unsupported
	buf      []byte   // the buffer being filled
	n        int      // bytes in buf
	base     int64    // file offset of buf[0]
	free     chan []byte
	reqs     chan stageReq
	res      chan error
	inflight int            // writes queued whose result was not received
	err      error          // first write error
	direct   bool           // owned by the flusher while writes are in flight
	hash     *blake3.Hasher // owned by the flusher while writes are in flight
	sync     *directio.Syncer
}

type stageReq struct {
	b   []byte
	off int64
}

func newStagedWriter(f *os.File, path string, direct bool, hash *blake3.Hasher) *stagedWriter {
	s := &stagedWriter{f: f, hash: hash, sync: directio.NewSyncer(f, 0)}
	if direct {
		if d, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT, 0); err == nil {
			s.d, s.direct = d, true
		}
	}
	// The stage buffers come from directio.Get (huge pages: one request per
	// 4 MiB write) and go back when the file is finished or aborted, to be
	// reused by the next file: a dedup store session writes one 64 MiB pack
	// after another, and new buffers for every pack made 16 MiB of garbage
	// per pack (a first backup into a store peaked at 158 MiB RSS against
	// 100 MiB into an archive pool).
	s.buf = directio.Get(stageSize)
	s.free = make(chan []byte, stageBufs)
	for range stageBufs - 1 {
		s.free <- directio.Get(stageSize)
	}
	reqs, res, free := make(chan stageReq, stageBufs), make(chan error, stageBufs), s.free
	s.reqs, s.res = reqs, res
	go func() {
		for r := range reqs {
			if s.hash != nil {
				s.hash.Write(r.b)
			}
			err := s.writeAt(r.b, r.off)
			if err == nil {
				// Before the result: once every result is in, no
				// sync starts any more (finish and abort wait).
				s.sync.Wrote(len(r.b))
			}
			free <- r.b // before the result: once all results are in, all buffers are free
			res <- err
		}
	}()
	return s
}

// writeAt writes b (aligned in memory, offset and, except at the end, length)
// directly, or through the page cache when direct I/O is refused.
func (s *stagedWriter) writeAt(b []byte, off int64) error {
	if s.direct && len(b)%directio.Align == 0 {
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

// collect receives the results of finished writes without blocking.
func (s *stagedWriter) collect() {
	for s.inflight > 0 {
		select {
		case err := <-s.res:
			s.inflight--
			if s.err == nil {
				s.err = err
			}
		default:
			return
		}
	}
}

// wait waits for every write in flight and returns the first error.
func (s *stagedWriter) wait() error {
	for ; s.inflight > 0; s.inflight-- {
		if err := <-s.res; s.err == nil {
			s.err = err
		}
	}
	return s.err
}

// write appends b.
func (s *stagedWriter) write(b []byte) error {
	for len(b) > 0 {
		c := copy(s.buf[s.n:], b)
		s.n += c
		b = b[c:]
		if s.n == stageSize {
			s.collect()
			if s.err != nil {
				return s.err
			}
			s.reqs <- stageReq{s.buf, s.base}
			s.inflight++
			s.buf = <-s.free
			s.n = 0
			s.base += stageSize
		}
	}
	return nil
}

// rewrite replaces bytes already appended at off (the header). Not with a
// hash: the bytes may have been hashed already.
func (s *stagedWriter) rewrite(b []byte, off int64) error {
	if s.hash != nil {
		return errors.New("rewrite of a hashed file")
	}
	if err := s.wait(); err != nil {
		return err
	}
	if off >= s.base {
		if off+int64(len(b)) > s.base+int64(s.n) {
			return errors.New("rewrite past the end")
		}
		copy(s.buf[off-s.base:], b)
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
		b := s.buf[:s.n]
		if s.hash != nil {
			s.hash.Write(b)
		}
		al := s.n / directio.Align * directio.Align
		if al > 0 {
			err = s.writeAt(b[:al], s.base)
		}
		if err == nil && al < s.n {
			_, err = s.f.WriteAt(b[al:], s.base+int64(al))
		}
	}
	if serr := s.sync.Wait(); err == nil {
		err = serr
	}
	if s.d != nil {
		if cerr := s.d.Close(); err == nil {
			err = cerr
		}
		s.d = nil
	}
	s.release()
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// release gives the stage buffers back (directio.Put). Only with no write in
// flight.
func (s *stagedWriter) release() {
	if s.buf != nil {
		directio.Put(s.buf)
		s.buf = nil
	}
	for s.free != nil {
		select {
		case b := <-s.free:
			directio.Put(b)
		default:
			s.free = nil
		}
	}
}

// abort stops the flusher without writing the rest.
func (s *stagedWriter) abort() {
	s.wait()
	if s.reqs != nil {
		close(s.reqs)
		s.reqs = nil
	}
	s.sync.Wait()
	if s.d != nil {
		s.d.Close()
		s.d = nil
	}
	s.release()
}
