package objstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/lock"
	"rb_module_rustack/internal/objstore"
	"rb_module_rustack/internal/objstore/objtest"
	"rb_module_rustack/internal/store"
)

func newBackend(t *testing.T, m *objtest.Mem, o objstore.Options) *objstore.Backend {
	t.Helper()
	if o.Spool == "" {
		o.Spool = t.TempDir()
	}
	b, err := objstore.New(m, "pre/fix", o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stage writes data as a staged file of b.
func stage(t *testing.T, b *objstore.Backend, data []byte) string {
	t.Helper()
	dir, err := b.Staging(context.Background(), "packs/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".tmp-test-")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Close()
	return f.Name()
}

func TestPutIfAbsentAndList(t *testing.T) {
	ctx := context.Background()
	m := objtest.NewMem()
	b := newBackend(t, m, objstore.Options{})
	tmp := stage(t, b, []byte("one"))
	if err := b.Put(ctx, tmp, "packs/aa/x.pack"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staged file left after Put: %v", err)
	}
	tmp = stage(t, b, []byte("two"))
	if err := b.Put(ctx, tmp, "packs/aa/x.pack"); !errors.Is(err, store.ErrExist) {
		t.Fatalf("second Put: %v, want ErrExist", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staged file left after Put of an existing name: %v", err)
	}
	if got := m.Names(); len(got) != 1 || got[0] != "pre/fix/packs/aa/x.pack" {
		t.Fatalf("objects %v", got)
	}
	o, err := b.Open(ctx, "packs/aa/x.pack")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := o.ReadAt(buf, 0); err != nil || string(buf) != "one" {
		t.Fatalf("read %q %v: the first object must stay", buf, err)
	}
	tmp = stage(t, b, []byte("idx"))
	if err := b.Put(ctx, tmp, "index/y.idx"); err != nil {
		t.Fatal(err)
	}
	names, err := b.List(ctx, "packs/")
	if err != nil || len(names) != 1 || names[0] != "packs/aa/x.pack" {
		t.Fatalf("List packs/: %v %v", names, err)
	}
	if _, err := b.Open(ctx, "packs/aa/missing.pack"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open missing: %v", err)
	}
	if err := b.Delete(ctx, "packs/aa/x.pack"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "packs/aa/x.pack"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
	if names, _ := b.List(ctx, ""); len(names) != 1 || names[0] != "index/y.idx" {
		t.Fatalf("after delete: %v", names)
	}
}

// TestServerWithoutConditionalPut: a server that ignores If-None-Match
// overwrites; the store only writes content-addressed or unique names,
// so the object still holds the same bytes.
func TestServerWithoutConditionalPut(t *testing.T) {
	ctx := context.Background()
	m := objtest.NewMem()
	m.IgnoreIfNoneMatch = true
	b := newBackend(t, m, objstore.Options{})
	for i := 0; i < 2; i++ {
		if err := b.Put(ctx, stage(t, b, []byte("same")), "index/z.idx"); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	// A server that refuses conditional PUTs (501): look, then write.
	m = objtest.NewMem()
	m.RefuseIfNoneMatch = true
	b = newBackend(t, m, objstore.Options{})
	if err := b.Put(ctx, stage(t, b, []byte("first")), "config"); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, stage(t, b, []byte("second")), "config"); !errors.Is(err, store.ErrExist) {
		t.Fatalf("second put on a server without conditional PUTs: %v", err)
	}
}

// TestReadsThroughCache reads random and sequential ranges of a large
// object through a small cache and compares them with the data.
func TestReadsThroughCache(t *testing.T) {
	ctx := context.Background()
	m := objtest.NewMem()
	b := newBackend(t, m, objstore.Options{BlockSize: 4096, CacheBytes: 3 * 4096})
	data := make([]byte, 50_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := b.Put(ctx, stage(t, b, data), "packs/bb/big.pack"); err != nil {
		t.Fatal(err)
	}
	o, err := b.Open(ctx, "packs/bb/big.pack")
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != int64(len(data)) {
		t.Fatalf("size %d", o.Size())
	}
	check := func(off, n int) {
		t.Helper()
		buf := make([]byte, n)
		got, err := o.ReadAt(buf, int64(off))
		want := min(n, len(data)-off)
		if got != want || (err != nil && !(err == io.EOF && want < n)) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, got, err)
		}
		if !bytes.Equal(buf[:got], data[off:off+got]) {
			t.Fatalf("ReadAt(%d, %d): wrong bytes", off, n)
		}
	}
	for off := 0; off < len(data); off += 1000 { // sequential small reads: cached blocks
		check(off, 1000)
	}
	seqGets := m.Gets
	if seqGets > 20 {
		t.Errorf("sequential read of 50 small reads took %d GETs, want about one per 4 KiB block", seqGets)
	}
	for i := 0; i < 300; i++ {
		check(r.IntN(len(data)), 1+r.IntN(9000))
	}
	check(len(data)-10, 100) // past the end: short read with io.EOF
	if n, err := o.ReadAt(make([]byte, 1), int64(len(data))); n != 0 || err != io.EOF {
		t.Fatalf("read at the end: %d %v", n, err)
	}
}

func TestSweepSpool(t *testing.T) {
	ctx := context.Background()
	m := objtest.NewMem()
	b := newBackend(t, m, objstore.Options{})
	old := stage(t, b, []byte("left by a killed writer"))
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	young := stage(t, b, []byte("in flight"))
	files, err := b.Staged(ctx, 10*time.Minute)
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0].Name, filepath.Base(old)) {
		t.Fatalf("Staged: %v %v", files, err)
	}
	n, bytes, err := b.Sweep(ctx, 10*time.Minute)
	if err != nil || n != 1 || bytes != int64(len("left by a killed writer")) {
		t.Fatalf("Sweep: %d %d %v", n, bytes, err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatalf("young staged file removed: %v", err)
	}
}

func TestErrorsNameTheCause(t *testing.T) {
	ctx := context.Background()
	m := objtest.NewMem()
	b := newBackend(t, m, objstore.Options{})
	m.Fault = func(op, name string) error { return &objstore.StatusError{Op: op, Name: name, Code: 503} }
	err := b.Put(ctx, stage(t, b, []byte("x")), "index/a.idx")
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "mem://test") {
		t.Fatalf("Put during a 503 storm: %v", err)
	}
	if !objstore.Transient(err) {
		t.Errorf("503 not transient")
	}
	m.Fault = func(op, name string) error { return &objstore.StatusError{Op: op, Name: name, Code: 401} }
	if _, err := b.List(ctx, ""); err == nil || !strings.Contains(err.Error(), "credentials were refused") {
		t.Fatalf("List with refused credentials: %v", err)
	}
}

func lockCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func TestLeaseLocks(t *testing.T) {
	m := objtest.NewMem()
	fast := objstore.LeaseOptions{TTL: time.Minute, Refresh: 20 * time.Millisecond, Poll: 10 * time.Millisecond}
	b1 := newBackend(t, m, objstore.Options{Lease: fast})
	b2 := newBackend(t, m, objstore.Options{Lease: fast})
	ctx, cancel := lockCtx(time.Second)
	defer cancel()
	s1, err := b1.Lock(ctx, "locks/gc", store.Shared)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b2.Lock(ctx, "locks/gc", store.Shared)
	if err != nil {
		t.Fatalf("second shared holder: %v", err)
	}
	c2, cancel2 := lockCtx(100 * time.Millisecond)
	defer cancel2()
	_, err = b2.Lock(c2, "locks/gc", store.Exclusive)
	if !errors.Is(err, lock.ErrBusy) || !strings.Contains(err.Error(), "shared by") {
		t.Fatalf("exclusive beside shared holders: %v", err)
	}
	// An exclusive request waits with its record in place: new shared
	// requests wait behind it, and it gets the lock once the shared
	// holders are gone.
	got := make(chan error, 1)
	go func() {
		c, cancel := lockCtx(5 * time.Second)
		defer cancel()
		rel, err := b2.Lock(c, "locks/gc", store.Exclusive)
		if err == nil {
			rel()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c3, cancel3 := lockCtx(60 * time.Millisecond)
	defer cancel3()
	if _, err := b1.Lock(c3, "locks/gc", store.Shared); !errors.Is(err, lock.ErrBusy) || !strings.Contains(err.Error(), "exclusive by") {
		t.Fatalf("shared request while an exclusive one waits: %v", err)
	}
	s1()
	s2()
	if err := <-got; err != nil {
		t.Fatalf("exclusive after the shared holders left: %v", err)
	}
	if names := m.Names(); len(names) != 0 {
		t.Fatalf("lock records left: %v", names)
	}
}

// TestStaleLease: a record not refreshed for the TTL (its holder died)
// neither blocks nor stays.
func TestStaleLease(t *testing.T) {
	m := objtest.NewMem()
	lo := objstore.LeaseOptions{TTL: time.Minute, Refresh: time.Hour, Poll: 10 * time.Millisecond}
	b := newBackend(t, m, objstore.Options{Lease: lo})
	ctx, cancel := lockCtx(time.Second)
	defer cancel()
	if _, err := b.Lock(ctx, "locks/gc", store.Exclusive); err != nil { // never released: the holder "died"
		t.Fatal(err)
	}
	names := m.Names()
	if len(names) != 1 {
		t.Fatalf("records %v", names)
	}
	m.SetModified(names[0], time.Now().Add(-2*time.Minute))
	rel, err := b.Lock(ctx, "locks/gc", store.Exclusive)
	if err != nil {
		t.Fatalf("lock beside a stale record: %v", err)
	}
	if after := m.Names(); len(after) != 1 || after[0] == names[0] {
		t.Fatalf("stale record not removed: %v", after)
	}
	if err := rel(); err != nil {
		t.Fatal(err)
	}
}

// TestDeadHolderOnThisHost: the record of a process of this host that has
// ended (a backup that lost the store could not delete it) is removed at
// once, not after the TTL; a live holder's record still blocks.
func TestDeadHolderOnThisHost(t *testing.T) {
	m := objtest.NewMem()
	lo := objstore.LeaseOptions{TTL: time.Hour, Refresh: time.Hour, Poll: 10 * time.Millisecond}
	b := newBackend(t, m, objstore.Options{Lease: lo})
	ctx, cancel := lockCtx(time.Second)
	defer cancel()
	if _, err := b.Lock(ctx, "locks/gc", store.Shared); err != nil { // never released
		t.Fatal(err)
	}
	names := m.Names()
	if len(names) != 1 {
		t.Fatalf("records %v", names)
	}
	// This process is alive: its record blocks an exclusive request.
	c1, cancel1 := lockCtx(50 * time.Millisecond)
	defer cancel1()
	if _, err := b.Lock(c1, "locks/gc", store.Exclusive); !errors.Is(err, lock.ErrBusy) {
		t.Fatalf("exclusive beside a live shared holder: %v", err)
	}
	// Rewrite the record as held by a process that has ended.
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	h := lock.Self(lock.Shared)
	h.PID, h.Start = ended.Process.Pid, ""
	body, _ := json.Marshal(h)
	if err := m.Put(ctx, names[0], bytes.NewReader(body), int64(len(body)), false); err != nil {
		t.Fatal(err)
	}
	rel, err := b.Lock(ctx, "locks/gc", store.Exclusive)
	if err != nil {
		t.Fatalf("exclusive beside a dead holder's record: %v", err)
	}
	if after := m.Names(); len(after) != 1 || after[0] == names[0] {
		t.Fatalf("dead holder's record not removed: %v", after)
	}
	if err := rel(); err != nil {
		t.Fatal(err)
	}
}
