package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/lock"
)

// TestLocalLockNamesHolder: a Lock that waits until its context ends fails
// with an error that wraps the context's error and lock.ErrBusy and names
// the store and the holder; the holder's record lives beside the lock file
// while it is held.
func TestLocalLockNamesHolder(t *testing.T) {
	dir := t.TempDir()
	b := NewLocal(dir)
	x, err := b.Lock(context.Background(), "lock", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := filepath.Glob(filepath.Join(dir, "lock.holders", "*.json"))
	if err != nil || len(recs) != 1 {
		t.Fatalf("records while held: %v %v", recs, err)
	}
	hs, err := lock.Holders(filepath.Join(dir, "lock"))
	if err != nil || len(hs) != 1 || hs[0].PID != os.Getpid() || hs[0].Mode != "exclusive" {
		t.Fatalf("holders: %+v %v", hs, err)
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err = b.Lock(ctx, "lock", Shared)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lock.ErrBusy) {
		t.Fatalf("shared lock under an exclusive one: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 150*time.Millisecond+time.Second {
		t.Fatalf("gave up after %v", d)
	}
	want := fmt.Sprintf("dedup store %s is locked: held exclusive by %q (pid %d on ", dir, lock.Command, os.Getpid())
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "; gave up waiting: context deadline exceeded") {
		t.Fatalf("message %q, want it to start with %q", msg, want)
	}

	if err := x(); err != nil {
		t.Fatal(err)
	}
	if err := x(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	if recs, _ := filepath.Glob(filepath.Join(dir, "lock.holders", "*")); len(recs) != 0 {
		t.Fatalf("records after unlock: %v", recs)
	}
	s, err := b.Lock(ctx, "lock", Shared)
	if err == nil {
		s()
		t.Fatal("lock with an ended context")
	}
	if s, err = b.Lock(context.Background(), "sub/lock", Exclusive); err != nil {
		t.Fatalf("lock in a new directory: %v", err)
	}
	s()
}
