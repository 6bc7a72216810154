package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/lock"
	"rb_module_rustack/internal/store"
)

// Locks on an object store are leases (docs/format.md, section 9). Objects
// cannot be locked, so each holder of lock NAME writes a record object
//
//	NAME.lease/<s|x>-<19-digit unix ns>-<host>-<pid>-<random>.json
//
// holding its lock.Holder, re-writes it every Refresh while it holds the
// lock and deletes it on release. A record not written for TTL (by the
// listing's time) belongs to a holder that died or lost the store: others
// ignore and delete it. Taking the lock:
//
//  1. write the own record (the name's time is when the request began,
//     and stays the same through retries: older requests go first);
//  2. list the records. Shared: granted unless a live exclusive record
//     exists; then the own record is deleted (so the exclusive request is
//     not kept waiting by it) and written again on the next try.
//     Exclusive: granted when no other live record exists; an older
//     exclusive record makes it step back (delete, retry); shared ones and
//     younger exclusive ones make it wait with its record in place, which
//     keeps new shared holders out: a stream of backups cannot starve
//     prune.
//  3. poll until granted or the caller's context ends; then the error
//     names the holders as a local lock's does.
//
// This needs the listing to show an object once its PUT returned (S3 has
// this read-after-write consistency; a Swift cluster has it while its
// container servers are up) and clocks that agree to well within TTL.

// LeaseOptions tune the lease locks.
type LeaseOptions struct {
	TTL     time.Duration // a record older than this is stale (default 15 min)
	Refresh time.Duration // how often a holder re-writes its record (default TTL/5)
	Poll    time.Duration // how often a waiting request tries again (default 1 s)
}

func (o LeaseOptions) withDefaults() LeaseOptions {
	if o.TTL <= 0 {
		o.TTL = 15 * time.Minute
	}
	if o.Refresh <= 0 {
		o.Refresh = o.TTL / 5
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	return o
}

// requestTimeout bounds each request of the lock protocol. It is separate
// from the caller's context, whose deadline is how long to wait for the
// lock, not how long one request may take.
const requestTimeout = time.Minute

type leaseRecord struct {
	name      string // full record name, relative to the store
	exclusive bool
}

func leaseDir(name string) string { return name + ".lease/" }

// parseLease reads the mode and order of a record name.
func parseLease(name string) (leaseRecord, bool) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if len(base) < 2 || base[1] != '-' || !strings.HasSuffix(base, ".json") {
		return leaseRecord{}, false
	}
	switch base[0] {
	case 's':
		return leaseRecord{name: name}, true
	case 'x':
		return leaseRecord{name: name, exclusive: true}, true
	}
	return leaseRecord{}, false
}

// order is the part of a record name that orders requests: its time.
func order(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if len(base) < 22 {
		return base
	}
	return base[2:21]
}

func (b *Backend) acquire(ctx context.Context, name string, mode store.LockMode) (func() error, error) {
	lo := b.lease
	excl := mode == store.Exclusive
	lm := lock.Shared
	kind := "s"
	if excl {
		lm, kind = lock.Exclusive, "x"
	}
	self := lock.Self(lm)
	body, err := json.Marshal(self)
	if err != nil {
		return nil, err
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	mine := fmt.Sprintf("%s%s-%019d-%s-%d-%s.json", leaseDir(name), kind, time.Now().UnixNano(), lock.FileHost(self.Host), os.Getpid(), hex.EncodeToString(rnd[:]))
	what := "dedup store " + b.String() + " (lock " + name + ")"
	myHost := lock.FileHost(self.Host)
	rctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	}
	put := func() error {
		c, cancel := rctx()
		defer cancel()
		return b.c.Put(c, b.full(mine), bytes.NewReader(body), int64(len(body)), false)
	}
	del := func(n string) {
		c, cancel := rctx()
		defer cancel()
		b.c.Delete(c, b.full(n))
	}
	start := time.Now()
	written := false
	for {
		if !written {
			if err := put(); err != nil {
				return nil, fmt.Errorf("%s: write the lock record: %w", what, err)
			}
			written = true
		}
		c, cancel := rctx()
		infos, err := b.list(c, leaseDir(name))
		cancel()
		if err != nil {
			del(mine)
			return nil, fmt.Errorf("%s: list the lock records: %w", what, err)
		}
		var blockers []string
		stepBack := false
		for _, in := range infos {
			r, ok := parseLease(in.Name)
			if !ok || in.Name == mine {
				continue
			}
			if !in.Modified.IsZero() && time.Since(in.Modified) > lo.TTL {
				del(in.Name) // stale: its holder died or lost the store
				continue
			}
			if leaseHost(in.Name) == myHost {
				if h, ok := b.record(in.Name); ok && lock.Gone(h) {
					del(in.Name) // its process on this host has ended
					continue
				}
			}
			switch {
			case !excl && r.exclusive:
				blockers = append(blockers, in.Name)
				stepBack = true
			case excl && r.exclusive && order(in.Name) < order(mine):
				blockers = append(blockers, in.Name)
				stepBack = true
			case excl:
				blockers = append(blockers, in.Name)
			}
		}
		if len(blockers) == 0 {
			return b.hold(mine, body, what), nil
		}
		if stepBack {
			del(mine)
			written = false
		}
		wait := time.NewTimer(lo.Poll)
		select {
		case <-ctx.Done():
			wait.Stop()
			if written {
				del(mine)
			}
			return nil, lock.Busy(what, b.holders(blockers), time.Since(start), ctx.Err())
		case <-wait.C:
		}
	}
}

// holders reads the records of names, for the message of a busy lock.
func (b *Backend) holders(names []string) []lock.Holder {
	var hs []lock.Holder
	for _, n := range names {
		if h, ok := b.record(n); ok {
			hs = append(hs, h)
		}
	}
	return hs
}

// record reads the lease record n; false when it cannot be read.
func (b *Backend) record(n string) (lock.Holder, bool) {
	c, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var h lock.Holder
	in, err := b.c.Stat(c, b.full(n))
	if err != nil || in.Size <= 0 || in.Size >= 1<<16 {
		return h, false
	}
	buf := make([]byte, in.Size)
	if b.c.Get(c, b.full(n), 0, buf) != nil || json.Unmarshal(buf, &h) != nil {
		return h, false
	}
	return h, true
}

// leaseHost is the host part of a record's name
// (KIND-TIME-HOST-PID-RANDOM.json), "" when the name has no such part.
func leaseHost(name string) string {
	base := strings.TrimSuffix(name[strings.LastIndexByte(name, '/')+1:], ".json")
	if len(base) < 23 {
		return ""
	}
	rest := base[22:]
	for range 2 {
		i := strings.LastIndexByte(rest, '-')
		if i < 0 {
			return ""
		}
		rest = rest[:i]
	}
	return rest
}

// hold keeps the record mine fresh until the returned release is called.
// Release deletes the record; its error says when the lease could not be
// refreshed for longer than its TTL (others may have taken the lock).
func (b *Backend) hold(mine string, body []byte, what string) func() error {
	lo := b.lease
	stop := make(chan struct{})
	done := make(chan struct{})
	var lostErr error
	go func() {
		defer close(done)
		t := time.NewTicker(lo.Refresh)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			c, cancel := context.WithTimeout(context.Background(), requestTimeout)
			err := b.c.Put(c, b.full(mine), bytes.NewReader(body), int64(len(body)), false)
			cancel()
			if err == nil {
				last = time.Now()
			} else if time.Since(last) > lo.TTL && lostErr == nil {
				lostErr = fmt.Errorf("%s: the lease was not refreshed for %v (last error: %w): another process may have taken the lock since", what, time.Since(last).Round(time.Second), err)
			}
		}
	}()
	var once sync.Once
	var relErr error
	return func() error {
		once.Do(func() {
			close(stop)
			<-done
			c, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			if err := b.c.Delete(c, b.full(mine)); err != nil {
				relErr = fmt.Errorf("%s: remove the lock record: %w", what, err)
			}
			if lostErr != nil {
				relErr = lostErr
			}
		})
		return relErr
	}
}
