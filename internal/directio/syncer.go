package directio

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// SyncEvery is the number of bytes after which a Syncer starts its next
// background fdatasync.
const SyncEvery = 32 << 20

// Syncer flushes a file being written to its device in the background, so
// that the fsync that ends the file has little left to wait for. Data
// written with O_DIRECT has left the page cache but not the device's (or
// a virtual disk's host's) cache; a final fsync then waits until all of it
// is written back: 0.14-0.31 s at the end of a 2 GiB first backup and
// 0.13-0.59 s at the end of a 2 GiB restore on the bench machine, with the
// cores idle (docs/benchmarks.md). Wrote counts the bytes written and
// starts an fdatasync once SyncEvery bytes were written since the last one
// started, never two at a time. Safe for concurrent use.
//
// NewWriteback makes one for a file written through the page cache.
//
// A background sync that fails records its error for Wait: the kernel
// reports a write-back error once per open file, so the final fsync of
// the same file would not see it again.
type Syncer struct {
	f        *os.File
	every    int64
	flush    func(fd int) error // fdatasync or startWriteback; an error fails the file (Wait returns it)
	mu       sync.Mutex
	unsynced int64
	running  bool
	err      error
	wg       sync.WaitGroup
}

// NewSyncer returns a syncer of f that syncs every `every` bytes
// (SyncEvery when every <= 0).
func NewSyncer(f *os.File, every int64) *Syncer {
	if every <= 0 {
		every = SyncEvery
	}
	return &Syncer{f: f, every: every, flush: unix.Fdatasync}
}

// NewWriteback returns a syncer for a file written through the page cache
// (a restored volume's device): every `every` bytes (SyncEvery when
// every <= 0) it starts the write-back of the file's dirty pages with
// sync_file_range(SYNC_FILE_RANGE_WRITE), which neither waits for the
// device nor flushes its cache. Without it the pages stay dirty until the
// final fsync (the kernel starts writing back only past
// dirty_background_ratio, gigabytes on a large proxy), which then writes
// the whole disk while the cores wait. Its errors are not recorded: a
// write-back error stays pending for the final fsync of the file, which
// must follow Wait, and a target that refuses sync_file_range just gets no
// early write-back (the call fails quietly every `every` bytes).
func NewWriteback(f *os.File, every int64) *Syncer {
	if every <= 0 {
		every = SyncEvery
	}
	return &Syncer{f: f, every: every, flush: startWriteback}
}

// startWriteback never fails: its error stays for the final fsync.
func startWriteback(fd int) error {
	_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	return nil
}

// Wrote tells the syncer n more bytes were written (a nil Syncer ignores
// it).
func (s *Syncer) Wrote(n int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsynced += int64(n)
	if s.unsynced < s.every || s.running || s.err != nil {
		return
	}
	s.unsynced, s.running = 0, true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.flush(int(s.f.Fd()))
		s.mu.Lock()
		s.running = false
		if err != nil && s.err == nil {
			s.err = fmt.Errorf("fdatasync %s: %w", s.f.Name(), err)
		}
		s.mu.Unlock()
	}()
}

// Wait waits for the background sync running, if any, and returns the
// first error of any; call it once no more Wrote calls can come, before
// the file's final fsync and before closing the file (a nil Syncer
// returns nil).
func (s *Syncer) Wait() error {
	if s == nil {
		return nil
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
