package lock

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Mode is how a lock is held.
type Mode int

// Lock modes: any number of shared holders, or one exclusive holder.
const (
	Shared Mode = iota
	Exclusive
)

// String returns "shared" or "exclusive", as in Holder.Mode.
func (m Mode) String() string {
	switch m {
	case Shared:
		return "shared"
	case Exclusive:
		return "exclusive"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Poll is how often a waiting Acquire tries again.
const Poll = 50 * time.Millisecond

// Forever is a wait that only the context ends.
const Forever time.Duration = math.MaxInt64

// ErrBusy is wrapped by Acquire's error when another holder has the lock.
var ErrBusy = errors.New("locked by another process")

// Command names what takes locks in holder records, e.g.
// "rb_module_rustack prune". The program may set it before it takes its
// first lock; the default is the base name of os.Args[0] and the first
// argument, if any.
var Command = defaultCommand()

func defaultCommand() string {
	if len(os.Args) == 0 {
		return ""
	}
	c := filepath.Base(os.Args[0])
	if len(os.Args) > 1 {
		c += " " + os.Args[1]
	}
	return c
}

// Lock is a held lock.
type Lock struct {
	mu     sync.Mutex
	f      *os.File // nil once released
	record string   // the holder record, "" when none was written
}

// Release removes the holder record and releases the lock. Calls after the
// first do nothing and return nil.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var errs []error
	if l.record != "" { // before unlocking, so a record never outlives its lock
		if err := os.Remove(l.record); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("unlock: %w", err))
		}
	}
	if err := l.f.Close(); err != nil { // closing the descriptor releases the flock
		errs = append(errs, fmt.Errorf("unlock: %w", err))
	}
	l.f = nil
	return errors.Join(errs...)
}

// Acquire takes the lock file path in mode. It never blocks longer than
// wait (0 = try once; Forever = until ctx ends); ctx cancels the wait.
// When it cannot get the lock it returns an error wrapping ErrBusy (and
// ctx.Err() when ctx ended the wait) whose message names every live
// holder; what names the locked thing in it ("pool /srv/pool", "dedup
// store /srv/store").
func Acquire(ctx context.Context, path, what string, mode Mode, wait time.Duration) (*Lock, error) {
	how := unix.LOCK_SH
	switch mode {
	case Shared:
	case Exclusive:
		how = unix.LOCK_EX
	default:
		return nil, fmt.Errorf("lock %s: invalid mode %d", path, int(mode))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	start := time.Now()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		err = flock(f, how)
		for errors.Is(err, unix.EWOULDBLOCK) {
			left := wait - time.Since(start)
			if left <= 0 {
				break
			}
			d := min(Poll, left)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			select {
			case <-ctx.Done():
			case <-timer.C:
				err = flock(f, how)
				continue
			}
			break
		}
		if err == nil {
			same, serr := samePath(f, path)
			if serr != nil {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", path, serr)
			}
			if !same {
				f.Close() // the file was removed or replaced under us: lock the one the path names
				continue
			}
			return held(f, path, mode), nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// Busy: name the holders. When no live record explains the flock,
		// its holder may just have released it: try once more.
		live, _ := check(path)
		explained := explains(live, mode)
		if !explained && ctx.Err() == nil {
			if flock(f, how) == nil {
				if same, _ := samePath(f, path); same {
					return held(f, path, mode), nil
				}
			}
		}
		f.Close()
		e := &busyError{what: what, holders: live, unrecorded: !explained}
		if what == "" {
			e.what = "lock " + path
		}
		if ctx.Err() != nil {
			e.cause = ctx.Err()
		} else if wait > 0 {
			e.waited = wait
		}
		return nil, e
	}
}

// flock tries to take the flock without blocking, retrying on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// samePath tells whether path still names the open file f.
func samePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// held writes the holder record of the lock just taken on f (best effort)
// and removes the records of dead holders.
func held(f *os.File, path string, mode Mode) *Lock {
	l := &Lock{f: f}
	l.record, _ = writeRecord(path, Holder{
		Host:    hostname(),
		PID:     os.Getpid(),
		Start:   selfStart(),
		Since:   time.Now().UTC().Truncate(time.Millisecond),
		Command: Command,
		Mode:    mode.String(),
	})
	check(path)
	return l
}

// explains tells whether the live holders account for a busy flock in mode:
// any holder blocks an exclusive request, an exclusive one a shared request.
func explains(live []Holder, mode Mode) bool {
	for _, h := range live {
		if mode == Exclusive || h.Mode != Shared.String() {
			return true
		}
	}
	return false
}

// busyError is Acquire's error when the lock is held by others.
type busyError struct {
	what       string
	holders    []Holder
	unrecorded bool          // the flock is held by someone the records do not name
	waited     time.Duration // how long Acquire waited, when it did
	cause      error         // ctx.Err() when the context ended the wait
}

func (e *busyError) Error() string {
	var b strings.Builder
	b.WriteString(e.what)
	b.WriteString(" is locked: held ")
	items := make([]string, 0, len(e.holders)+1)
	for _, h := range e.holders {
		items = append(items, h.describe())
	}
	if e.unrecorded {
		items = append(items, "by a process that left no holder record")
	}
	for i, it := range items {
		switch {
		case i == 0:
		case i == len(items)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(it)
	}
	switch {
	case e.cause != nil:
		fmt.Fprintf(&b, "; gave up waiting: %v", e.cause)
	case e.waited > 0:
		fmt.Fprintf(&b, "; still locked after %v; retry later, or wait longer with --lock-wait DURATION", e.waited)
	default:
		b.WriteString("; retry later, or wait for it with --lock-wait DURATION")
	}
	return b.String()
}

func (e *busyError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrBusy, e.cause}
	}
	return []error{ErrBusy}
}

// Self is this process's holder record for a lock taken in mode now.
func Self(mode Mode) Holder {
	return Holder{Host: hostname(), PID: os.Getpid(), Start: selfStart(), Since: time.Now().UTC(),
		Command: Command, Mode: mode.String()}
}

// Busy is the error of a lock of what that its holders keep: it wraps
// ErrBusy (and cause, the context's error, when that ended the wait) and
// names the holders as Acquire's does. Other kinds of locks (the object
// store's leases) use it so that every busy lock reads the same.
func Busy(what string, holders []Holder, waited time.Duration, cause error) error {
	return &busyError{what: what, holders: holders, unrecorded: len(holders) == 0, waited: waited, cause: cause}
}
