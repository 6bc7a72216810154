package snapshot

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/journal"
)

func TestRunHappyPath(t *testing.T) {
	e := newEnv(t)
	e.c.UpdateServer(e.vm.ID, func(s *api.Server) {
		s.Metadata["role"] = "db"
		s.KeyName = "k1"
		s.Networks = []api.Network{{ID: "net-1", Name: "private", FixedIP: "10.0.0.7"}}
	})
	e.c.Hook("CreateSnapshot", func(context.Context) error { e.ev.add("snapshot"); return nil })
	e.c.Hook("CreateVolume", func(context.Context) error { e.ev.add("volume"); return nil })
	var last int64
	o := e.options()
	o.Progress = func(n int64) { last = n }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.assertBackup(t, res)
	e.assertClean(t)
	if want := int64(5 * unit); res.BytesRead != want || last != want {
		t.Errorf("bytes read %d, progress %d, want %d", res.BytesRead, last, want)
	}
	ev := e.ev.list()
	if !slices.Equal(ev[:4], []string{"before", "snapshot", "snapshot", "after"}) || len(ev) != 6 {
		t.Errorf("order of events: %v", ev)
	}
	d := res.VM
	if d.Name != "vm01" || len(d.Disks) != 2 || d.Disks[0].VolumeID != e.vm.VolumeIDs[0] || !d.Disks[0].Bootable ||
		d.Disks[0].BootIndex != 0 || d.Disks[1].BootIndex != 1 || d.Disks[0].Size != 3 || d.Flavor.Name != "m1.small" ||
		d.Metadata["role"] != "db" || d.KeyName != "k1" || len(d.Networks) != 1 || d.Networks[0].FixedIP != "10.0.0.7" ||
		d.Host == "" || d.InstanceName == "" || d.BackupTime.IsZero() {
		t.Errorf("description: %+v", d)
	}
	if !res.Scripts || len(res.Removed) != 4 {
		t.Errorf("scripts %v, removed %+v", res.Scripts, res.Removed)
	}
	for _, r := range res.Removed {
		if job, ok := journal.JobOf(r.Name); !ok || job != res.JobID {
			t.Errorf("removed %+v: name without the job prefix", r)
		}
	}
	// By id works as well; labels are stable (the volume ids).
	e.sink = newSink()
	o = e.options()
	o.VM = e.vm.ID
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for _, id := range e.vm.VolumeIDs {
		if _, ok := e.sink.sums[id]; !ok {
			t.Errorf("label %s missing in the second backup", id)
		}
	}
	e.assertClean(t)
}

func TestRunNoAdminNoScripts(t *testing.T) {
	e := newEnv(t, func(o *fakecloud.Options) { o.NoAdmin = true })
	res, err := Run(context.Background(), e.options())
	if err != nil {
		t.Fatal(err)
	}
	e.assertBackup(t, res)
	e.assertClean(t)
	if len(e.ev.list()) != 0 || res.Scripts {
		t.Errorf("scripts ran without admin: %v", e.ev.list())
	}
	if n := e.log.count("no admin account"); n != 1 {
		t.Errorf("'no admin account' logged %d times", n)
	}
}

func TestRunFindVM(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.VM = "nope"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing VM: %v", err)
	}
	e.c.AddServer("vm01", fakecloud.Disk{Size: 1})
	o.VM = "vm01"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "give the id") {
		t.Errorf("ambiguous VM: %v", err)
	}
	o.VM = e.proxy.ID
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "proxy") {
		t.Errorf("proxy: %v", err)
	}
	e.orig = map[string]bool{}
	for _, v := range e.c.Volumes() {
		e.orig[v.ID] = true
	}
	e.assertClean(t)
}

// TestFaultAtEveryCall injects a failure at every call of every cloud
// operation the flow makes, one at a time, until the flow no longer makes
// that many calls. Every run must end with a clear error (or a success
// when a cleanup retry absorbed the failure) and nothing left behind.
func TestFaultAtEveryCall(t *testing.T) {
	base := newEnv(t)
	if _, err := Run(context.Background(), base.options()); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range base.c.History() {
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	t.Logf("operations: %v", ops)
	boom := errors.New("503 service unavailable")
	runs, failed := 0, 0
	for _, after := range []bool{false, true} {
		for _, op := range ops {
			if after && !strings.HasPrefix(op, "Create") && op != "AttachVolume" {
				continue
			}
			for n := 1; ; n++ {
				e := newEnv(t)
				if after {
					e.c.FailAfter(op, n, boom)
				} else {
					e.c.Fail(op, n, boom)
				}
				t0 := time.Now()
				res, err := Run(context.Background(), e.options())
				if d := time.Since(t0); d > 500*time.Millisecond {
					t.Logf("%s #%d after=%v: %s: %v", op, n, after, d, err)
				}
				if e.c.Calls(op) < n {
					break // the flow no longer reaches call n
				}
				runs++
				if err != nil {
					failed++
					if !errors.Is(err, boom) {
						t.Errorf("%s #%d (after=%v): error does not carry the cause: %v", op, n, after, err)
					}
				} else {
					e.assertBackup(t, res)
				}
				e.assertClean(t)
				ev := e.ev.list()
				if slices.Contains(ev, "before") && slices.Index(ev, "after") < 0 {
					t.Errorf("%s #%d: before ran, after did not: %v", op, n, ev)
				}
				if t.Failed() {
					t.Fatalf("%s #%d (after=%v): err %v", op, n, after, err)
				}
			}
		}
	}
	t.Logf("%d runs with a fault, %d failed cleanly, %d recovered", runs, failed, runs-failed)
	if failed == 0 {
		t.Fatal("no fault made the flow fail")
	}
}

func TestDeviceNeverAppears(t *testing.T) {
	e := newEnv(t)
	e.c.HideDevices(true)
	o := e.options()
	o.Timeouts.Attach = 300 * time.Millisecond
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "did not appear") || !strings.Contains(err.Error(), "virtio-") {
		t.Fatalf("err = %v", err)
	}
	e.assertClean(t)
}

type failingDevice struct {
	Device
	at int64
}

func (f failingDevice) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, errors.New("input/output error")
	}
	return f.Device.ReadAt(p, off)
}

func TestReadError(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Open = func(p string) (Device, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		return failingDevice{Device: f, at: unit}, nil
	}
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("err = %v", err)
	}
	e.assertClean(t)
	// A device that cannot be opened.
	o.Open = func(string) (Device, error) { return nil, os.ErrPermission }
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "open device") {
		t.Fatalf("err = %v", err)
	}
	e.assertClean(t)
}

func TestScriptFailures(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after error
		scriptsErr    error
		want          string
	}{
		{name: "before fails", before: errors.New("exit status 3: pg_start_backup failed"), want: "before"},
		{name: "after fails", after: errors.New("exit status 1"), want: "after"},
		{name: "agent down", before: errors.New("Guest agent is not responding"), after: errors.New("Guest agent is not responding"), want: "not responding"},
		{name: "no agent at all", scriptsErr: errors.New("connect to the hypervisor: refused"), want: "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.options()
			o.Scripts = func(context.Context, *api.Server) (Scripts, error) {
				if tc.scriptsErr != nil {
					return nil, tc.scriptsErr
				}
				return &fakeScripts{ev: e.ev, beforeErr: tc.before, afterErr: tc.after}, nil
			}
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			e.assertClean(t)
			ev := e.ev.list()
			if slices.Contains(ev, "before") != slices.Contains(ev, "after") {
				t.Errorf("before/after unbalanced: %v", ev)
			}
			if tc.before != nil && e.c.Calls("CreateSnapshot") != 0 {
				t.Errorf("snapshots taken after a failed before script")
			}
		})
	}
}

func TestVolumeStuckCreating(t *testing.T) {
	e := newEnv(t)
	e.c.Stick("volume", "creating")
	o := e.options()
	o.Timeouts.Volume = time.Second
	start := time.Now()
	_, err := Run(context.Background(), o)
	took := time.Since(start)
	t.Logf("stuck volume: failed after %s (volume_creation_timeout 1s): %v", took, err)
	var se *api.StatusError
	if !errors.As(err, &se) || !se.TimedOut || se.Timeout != time.Second || se.Last != "creating" ||
		!strings.Contains(err.Error(), "volume_creation_timeout") {
		t.Fatalf("err = %v", err)
	}
	// A volume in "creating" cannot be deleted (as in Cinder): its journal
	// stays, and the error says what to do.
	if !strings.Contains(err.Error(), "cleanup") {
		t.Errorf("error does not point at cleanup: %v", err)
	}
	if js, _ := os.ReadDir(e.jdir); len(js) == 0 {
		t.Fatal("no journal kept for the stuck volume")
	}
	e.c.Unstick("volume", "creating")
	removed, err := Sweep(context.Background(), e.c, e.jdir, SweepOptions{Timeouts: o.Timeouts})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) == 0 {
		t.Fatal("sweep removed nothing")
	}
	e.assertClean(t)
}

func TestSnapshotStuckAndBroken(t *testing.T) {
	e := newEnv(t)
	e.c.Stick("snapshot", "creating")
	o := e.options()
	o.Timeouts.Snapshot = 300 * time.Millisecond
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "snapshot_creation_timeout") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Equal(e.ev.list(), []string{"before", "after"}) {
		t.Errorf("events %v", e.ev.list())
	}
	e.c.Unstick("snapshot", "creating")
	if _, err := Sweep(context.Background(), e.c, e.jdir, SweepOptions{Timeouts: o.Timeouts}); err != nil {
		t.Fatal(err)
	}
	e.assertClean(t)

	// error status fails fast, without waiting for the timeout.
	e2 := newEnv(t)
	e2.c.Break("volume", "creating")
	o = e2.options()
	o.Timeouts.Volume = time.Hour
	_, err = Run(context.Background(), o)
	var se *api.StatusError
	if !errors.As(err, &se) || se.TimedOut || se.Last != "error" {
		t.Fatalf("err = %v", err)
	}
	e2.assertClean(t)
}

func TestCancelMidRead(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.sink.onRead = func(label string, off int64) error {
		if off >= 4*e.sink.int64Block() {
			cancel()
		}
		return nil
	}
	o := e.options()
	o.DiskParallelism = 1
	_, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	e.assertClean(t)
	if ev := e.ev.list(); !slices.Equal(ev, []string{"before", "after"}) {
		t.Errorf("events %v", ev)
	}
}

func (s *memSink) int64Block() int64 { return int64(s.block) }

func TestCancelDuringCreate(t *testing.T) {
	// Canceled while a temporary volume is still creating: cleanup waits
	// for it to be available and deletes it.
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.c.Hook("WaitVolume", func(context.Context) error { cancel(); return nil })
	_, err := Run(ctx, e.options())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	e.assertClean(t)
}

func TestParallelDisks(t *testing.T) {
	e := newEnv(t)
	// Four more disks; two at a time.
	var more []fakecloud.Disk
	for range 4 {
		more = append(more, fakecloud.Disk{Size: 1, Content: []byte("data")})
	}
	vm, err := e.c.AddServer("big", more...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range e.c.Volumes() {
		e.orig[v.ID] = true
	}
	// The first two disks to start reading wait for each other: with
	// DiskParallelism 2 they meet; more than 2 never read at once.
	var (
		mu         sync.Mutex
		cur, peak  int
		met        = make(chan struct{})
		arrived    int
		meetingErr error
	)
	e.sink.onRead = func(label string, off int64) error {
		if off != 0 {
			return nil
		}
		mu.Lock()
		cur++
		peak = max(peak, cur)
		arrived++
		if arrived == 2 {
			close(met)
		}
		mu.Unlock()
		select {
		case <-met:
		case <-time.After(10 * time.Second):
			mu.Lock()
			meetingErr = errors.New("two disks never read at the same time")
			mu.Unlock()
		}
		mu.Lock()
		cur--
		mu.Unlock()
		return nil
	}
	o := e.options()
	o.VM = vm.ID
	o.DiskParallelism = 2
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Disks) != 4 || peak != 2 || meetingErr != nil {
		t.Fatalf("disks %d, peak parallelism %d, %v", len(res.Disks), peak, meetingErr)
	}
	e.assertClean(t)
}

func TestStoppedVMNoScripts(t *testing.T) {
	e := newEnv(t)
	e.c.UpdateServer(e.vm.ID, func(s *api.Server) { s.Status = "SHUTOFF" })
	res, err := Run(context.Background(), e.options())
	if err != nil {
		t.Fatal(err)
	}
	e.assertBackup(t, res)
	e.assertClean(t)
	if len(e.ev.list()) != 0 || res.Scripts || e.log.count("is SHUTOFF: no guest scripts") != 1 {
		t.Errorf("scripts on a stopped VM: %v, %v", e.ev.list(), e.log.lines)
	}
}
