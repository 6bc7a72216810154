package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"rb_module_rustack/internal/api/httpx"
)

// ErrNoAdmin is returned by admin-only calls when no admin account is set.
var ErrNoAdmin = errors.New("no admin account configured (admin_name)")

// ErrNotFound is wrapped by every error about a resource that does not exist
// (every 404 answer matches it).
var ErrNotFound = httpx.ErrNotFound

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// StatusError is returned by a waiter that saw an error* status or ran out
// of time; Last is the last status seen.
type StatusError struct {
	Kind, ID string   // "volume", "snapshot", "server"
	Want     []string // statuses waited for
	Last     string   // last status seen ("" if never read)
	Timeout  time.Duration
	TimedOut bool
}

func (e *StatusError) Error() string {
	if e.TimedOut {
		return fmt.Sprintf("%s %s did not become %s within %s (last status %q)",
			e.Kind, e.ID, strings.Join(e.Want, "|"), e.Timeout, e.Last)
	}
	return fmt.Sprintf("%s %s went to status %q while waiting for %s",
		e.Kind, e.ID, e.Last, strings.Join(e.Want, "|"))
}

// PollInterval is the pause between two status reads of a waiter: short at
// first, growing to at most 1 s. A status read costs the cloud about 10-25 ms,
// so a longer pause would only add latency to every backup step.
func PollInterval(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 4)
	return min(d, time.Second)
}

// WaitStatus polls read until it returns one of want, an error* status, an
// error, or timeout passes. wantGone makes a not-found result the success.
// It is shared by the real client and the fake cloud.
func WaitStatus(ctx context.Context, kind, id string, timeout time.Duration, wantGone bool,
	read func(context.Context) (string, error), want ...string) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for attempt := 0; ; attempt++ {
		st, err := read(ctx)
		switch {
		case err != nil && wantGone && IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("wait for %s %s: %w", kind, id, err)
		}
		last = st
		if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, st) }) {
			return nil
		}
		if strings.HasPrefix(strings.ToLower(st), "error") {
			return &StatusError{Kind: kind, ID: id, Want: want, Last: last}
		}
		left := time.Until(deadline)
		if left <= 0 {
			if wantGone {
				want = []string{"deleted"}
			}
			return &StatusError{Kind: kind, ID: id, Want: want, Last: last, Timeout: timeout, TimedOut: true}
		}
		t := time.NewTimer(min(PollInterval(attempt), left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for %s %s (last status %q): %w", kind, id, last, ctx.Err())
		case <-t.C:
		}
	}
}
