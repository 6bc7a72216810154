package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// stage writes content as a staged file of b for objects under prefix.
func stage(t *testing.T, b Backend, prefix, content string) string {
	t.Helper()
	dir, err := b.Staging(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".tmp-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func readObject(t *testing.T, b Backend, name string) string {
	t.Helper()
	o, err := b.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	buf := make([]byte, o.Size())
	if _, err := o.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

func TestLocalPutIfAbsent(t *testing.T) {
	ctx := context.Background()
	b := NewLocal(t.TempDir())
	tmp := stage(t, b, "packs/", "first")
	if err := b.Put(ctx, tmp, "packs/ab/x.pack"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the staged file is left after Put")
	}
	// A second put of the name never replaces the object.
	tmp = stage(t, b, "packs/", "second")
	if err := b.Put(ctx, tmp, "packs/ab/x.pack"); !errors.Is(err, ErrExist) {
		t.Fatalf("put over an existing object: %v, want ErrExist", err)
	}
	if got := readObject(t, b, "packs/ab/x.pack"); got != "first" {
		t.Fatalf("object replaced: %q", got)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the staged file is left after ErrExist")
	}
	if _, err := b.Open(ctx, "packs/ab/none.pack"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open of a missing object: %v", err)
	}
}

func TestLocalListAndDelete(t *testing.T) {
	ctx := context.Background()
	b := NewLocal(t.TempDir())
	for _, n := range []string{"index/b.idx", "index/a.idx", "packs/00/p.pack", "config"} {
		if err := b.Put(ctx, stage(t, b, n, n), n); err != nil {
			t.Fatal(err)
		}
	}
	stage(t, b, "index/", "in flight") // staged names are not listed
	got, err := b.List(ctx, "index/")
	if err != nil || !slices.Equal(got, []string{"index/a.idx", "index/b.idx"}) {
		t.Fatalf("list index/: %v %v", got, err)
	}
	if got, _ := b.List(ctx, ""); len(got) != 4 {
		t.Fatalf("list all: %v", got)
	}
	if got, err := b.List(ctx, "nothing/"); err != nil || len(got) != 0 {
		t.Fatalf("list of a missing prefix: %v %v", got, err)
	}
	if err := b.Delete(ctx, "index/a.idx"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "index/a.idx"); err != nil {
		t.Fatalf("delete of a missing object: %v", err)
	}
	if got, _ := b.List(ctx, "index/"); !slices.Equal(got, []string{"index/b.idx"}) {
		t.Fatalf("after delete: %v", got)
	}
}

func TestLocalLockExcludes(t *testing.T) {
	b := NewLocal(t.TempDir())
	ctx := context.Background()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	// Shared locks coexist; an exclusive one waits for them.
	s1, err := b.Lock(ctx, "lock", Shared)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.Lock(short(), "lock", Shared)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := b.Lock(short(), "lock", Exclusive); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exclusive lock under shared ones: %v", err)
	}
	s1()
	s2()
	// An exclusive lock excludes a shared one (on another descriptor), and
	// releasing it lets the waiter in.
	x, err := b.Lock(short(), "lock", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(short(), "lock", Shared); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shared lock under an exclusive one: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(ctx, "lock", Shared)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(2 * lockPoll)
	x()
	if err := <-got; err != nil {
		t.Fatalf("waiting shared lock: %v", err)
	}
}

// TestLocalLockAcrossProcesses holds the exclusive lock here and asks for a
// shared one in another process (flock(1) on the same file).
func TestLocalLockAcrossProcesses(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("no flock command")
	}
	dir := t.TempDir()
	b := NewLocal(dir)
	x, err := b.Lock(context.Background(), "lock", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(dir, "lock")
	if err := exec.Command(flock, "--shared", "--nonblock", lockFile, "true").Run(); err == nil {
		t.Fatal("another process took a shared lock under our exclusive one")
	}
	x()
	if out, err := exec.Command(flock, "--shared", "--nonblock", lockFile, "true").CombinedOutput(); err != nil {
		t.Fatalf("shared lock after release: %v %s", err, out)
	}
}
