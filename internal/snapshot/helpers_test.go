package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/vmdesc"
)

const unit = 1 << 20 // fake "GiB": 1 MiB keeps the tests fast

// memSink reads every disk fully and keeps its sha256.
type memSink struct {
	total  atomic.Int64 // bytes read by all disks (what a sink reports as progress)
	mu     sync.Mutex
	sums   map[string]string
	sizes  map[string]int64
	block  int
	onRead func(label string, off int64) error // called before each block
}

func newSink() *memSink {
	return &memSink{sums: map[string]string{}, sizes: map[string]int64{}, block: 64 << 10}
}

func (s *memSink) AddDisk(ctx context.Context, label string, src io.ReaderAt, size int64, p func(int64)) error {
	h := sha256.New()
	buf := make([]byte, s.block)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.onRead != nil {
			if err := s.onRead(label, off); err != nil {
				return err
			}
		}
		n := int(min(int64(len(buf)), size-off))
		m, err := src.ReadAt(buf[:n], off)
		if m != n {
			return fmt.Errorf("read at %d: %d of %d bytes: %w", off, m, n, err)
		}
		h.Write(buf[:n])
		off += int64(n)
		t := s.total.Add(int64(n))
		if p != nil {
			p(t)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.sums[label]; dup {
		return fmt.Errorf("disk %s added twice", label)
	}
	s.sums[label] = hex.EncodeToString(h.Sum(nil))
	s.sizes[label] = size
	return nil
}

// fakeScripts records calls in a shared event log.
type fakeScripts struct {
	ev        *events
	beforeErr error
	afterErr  error
}

func (f *fakeScripts) Before(ctx context.Context) error { f.ev.add("before"); return f.beforeErr }
func (f *fakeScripts) After(ctx context.Context) error  { f.ev.add("after"); return f.afterErr }

type events struct {
	mu sync.Mutex
	l  []string
}

func (e *events) add(s string) { e.mu.Lock(); e.l = append(e.l, s); e.mu.Unlock() }
func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.l)
}

type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(f, a...))
}
func (l *testLog) Debugf(f string, a ...any) { l.add("debug", f, a...) }
func (l *testLog) Infof(f string, a ...any)  { l.add("info", f, a...) }
func (l *testLog) Warnf(f string, a ...any)  { l.add("warn", f, a...) }
func (l *testLog) Errorf(f string, a ...any) { l.add("error", f, a...) }
func (l *testLog) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// env is a fake cloud with a proxy and a VM of two disks.
type env struct {
	c      *fakecloud.Cloud
	proxy  *api.Server
	vm     *api.Server
	orig   map[string]bool // volumes that exist before a backup
	jdir   string
	sink   *memSink
	ev     *events
	log    *testLog
	want   map[string]string // sha256 of each VM volume
	fakeOS fakecloud.Options
}

func newEnv(t *testing.T, mod ...func(*fakecloud.Options)) *env {
	t.Helper()
	o := fakecloud.Options{Dir: t.TempDir(), Unit: unit, Delay: time.Millisecond, Poll: time.Millisecond}
	for _, m := range mod {
		m(&o)
	}
	c, err := fakecloud.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e := &env{c: c, jdir: filepath.Join(t.TempDir(), "journal"), sink: newSink(), ev: &events{}, log: &testLog{}, fakeOS: o}
	e.proxy, err = c.AddServer("rubackup-proxy", fakecloud.Disk{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	text := bytes.Repeat([]byte("boot sector and some text, "), 20000)
	rnd := make([]byte, 1500000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	e.vm, err = c.AddServer("vm01", fakecloud.Disk{Size: 3, Content: text}, fakecloud.Disk{Size: 2, Content: rnd})
	if err != nil {
		t.Fatal(err)
	}
	e.orig = map[string]bool{}
	for _, v := range c.Volumes() {
		e.orig[v.ID] = true
	}
	e.want = map[string]string{}
	for _, id := range e.vm.VolumeIDs {
		e.want[id] = fileSum(t, c.VolumePath(id))
	}
	return e
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (e *env) options() Options {
	return Options{
		Cloud: e.c, VM: "vm01", ProxyID: e.proxy.ID, JournalDir: e.jdir,
		Timeouts:  Timeouts{Snapshot: 2 * time.Second, Volume: 2 * time.Second, Attach: 2 * time.Second},
		DeviceDir: e.c.DeviceDir(e.proxy.ID), SysBlock: filepath.Join(e.jdir, "nosys"),
		Begin: func(ctx context.Context, d *vmdesc.VM) (Sink, error) {
			if _, err := d.Marshal(); err != nil {
				return nil, err
			}
			return e.sink, nil
		},
		Scripts: func(ctx context.Context, admin *api.Server) (Scripts, error) {
			if admin.Host == "" || admin.InstanceName == "" {
				return nil, errors.New("scripts need the admin view")
			}
			return &fakeScripts{ev: e.ev}, nil
		},
		Log:        e.log,
		DevicePoll: 2 * time.Millisecond,
	}
}

// assertClean fails unless nothing of ours is left: no snapshot, no volume
// but the VM's and the proxy's, nothing attached to the proxy but its
// root disk, no journal.
func (e *env) assertClean(t *testing.T) {
	t.Helper()
	// Give asynchronous steps the cloud still runs nothing to hide behind:
	// everything must be gone when Run returns.
	if s := e.c.Snapshots(); len(s) != 0 {
		t.Errorf("snapshots left: %+v", s)
	}
	for _, v := range e.c.Volumes() {
		if !e.orig[v.ID] {
			t.Errorf("volume left: %s %s %s", v.ID, v.Name, v.Status)
		}
	}
	if a := e.c.AttachedTo(e.proxy.ID); len(a) != 1 || a[0] != e.proxy.VolumeIDs[0] {
		t.Errorf("attached to the proxy: %v", a)
	}
	if links, _ := filepath.Glob(filepath.Join(e.c.DeviceDir(e.proxy.ID), "*")); len(links) != 1 {
		t.Errorf("proxy device dir: %v", links)
	}
	if js, _ := filepath.Glob(filepath.Join(e.jdir, "*.json")); len(js) != 0 {
		t.Errorf("journals left: %v", js)
	}
}

// assertBackup checks the sink got every disk with the source's bytes.
func (e *env) assertBackup(t *testing.T, res *Result) {
	t.Helper()
	if len(e.sink.sums) != len(e.want) {
		t.Fatalf("sink has %d disks, want %d", len(e.sink.sums), len(e.want))
	}
	for id, sum := range e.want {
		if e.sink.sums[id] != sum {
			t.Errorf("disk %s: sha256 %s, want %s", id, e.sink.sums[id], sum)
		}
	}
	if res == nil || len(res.Disks) != len(e.want) {
		t.Fatalf("result %+v", res)
	}
}
