package lock

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	helperEnvPath = "LOCK_HELPER_PATH"
	helperEnvMode = "LOCK_HELPER_MODE"
	helperCommand = "helper child"
)

// TestHelperProcess is the child of the tests with real processes: it takes
// the lock of $LOCK_HELPER_PATH in $LOCK_HELPER_MODE, says "locked" and
// sleeps until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnvPath)
	if path == "" {
		t.Skip("only run as a child of the lock tests")
	}
	mode := Shared
	if os.Getenv(helperEnvMode) == "exclusive" {
		mode = Exclusive
	}
	Command = helperCommand + " " + mode.String()
	if _, err := Acquire(context.Background(), path, "test lock", mode, 0); err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// child starts a process that holds the lock of path in mode until it is
// killed (which the test's cleanup does, if the test did not).
func child(t *testing.T, path string, mode Mode) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnvPath+"="+path, helperEnvMode+"="+mode.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	return cmd
}

// kill kills cmd with SIGKILL and reaps it.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// records lists the holder record files of the lock file path.
func records(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(recordDir(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func mustAcquire(t *testing.T, path string, mode Mode) *Lock {
	t.Helper()
	l, err := Acquire(context.Background(), path, "test lock", mode, 0)
	if err != nil {
		t.Fatalf("acquire %v: %v", mode, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func mustBeBusy(t *testing.T, path string, mode Mode) error {
	t.Helper()
	l, err := Acquire(context.Background(), path, "test lock", mode, 0)
	if err == nil {
		l.Release()
		t.Fatalf("acquire %v: got the lock, want busy", mode)
	}
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("acquire %v: %v, want ErrBusy", mode, err)
	}
	return err
}

// TestKilledHolder: a child process holds the lock exclusive; the parent is
// told who (pid and command); once the child is killed, the parent gets the
// lock and the child's record is gone.
func TestKilledHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "lock")
	cmd := child(t, path, Exclusive)
	pid := cmd.Process.Pid

	err := mustBeBusy(t, path, Shared)
	msg := err.Error()
	for _, want := range []string{
		"test lock is locked: held exclusive by ",
		fmt.Sprintf("%q", helperCommand+" exclusive"),
		fmt.Sprintf("(pid %d on %s, since ", pid, hostname()),
		"; retry later, or wait for it with --lock-wait DURATION",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "no holder record") || strings.Contains(msg, "another host") {
		t.Errorf("message %q", msg)
	}
	hs, err := Holders(path)
	if err != nil || len(hs) != 1 || hs[0].PID != pid || hs[0].Mode != "exclusive" || hs[0].Host != hostname() || hs[0].Start == "" {
		t.Fatalf("holders: %+v %v", hs, err)
	}
	if recs := records(t, path); len(recs) != 1 || !strings.HasPrefix(recs[0], fmt.Sprintf("%s-%d-", FileHost(hostname()), pid)) {
		t.Fatalf("records: %v", recs)
	}

	kill(t, cmd)
	l := mustAcquire(t, path, Exclusive)
	for _, r := range records(t, path) {
		if strings.Contains(r, fmt.Sprintf("-%d-", pid)) {
			t.Errorf("the killed child's record %s is still there", r)
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Fatalf("records after release: %v", recs)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Dir(path))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("lock directory: %v %v", fi.Mode(), err)
	}
}

// TestStaleRecordOnContention: a killed child's record is removed and not
// reported when the lock is busy for another reason (a flock taken without
// a record).
func TestStaleRecordOnContention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	cmd := child(t, path, Shared)
	if hs, _ := Holders(path); len(hs) != 1 || hs[0].PID != cmd.Process.Pid || hs[0].Mode != "shared" {
		t.Fatalf("holders: %+v", hs)
	}
	kill(t, cmd)

	err = mustBeBusy(t, path, Exclusive)
	want := "test lock is locked: held by a process that left no holder record; retry later, or wait for it with --lock-wait DURATION"
	if err.Error() != want {
		t.Fatalf("message\n%s\nwant\n%s", err, want)
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Fatalf("the killed child's record is still there: %v", recs)
	}
}

// TestSharedAcrossProcesses: a child's shared lock lets the parent share it
// and keeps it from taking it exclusive; the message lists the child.
func TestSharedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	cmd := child(t, path, Shared)
	s := mustAcquire(t, path, Shared)
	err := mustBeBusy(t, path, Exclusive)
	msg := err.Error()
	// Both shared holders are named, the older (the child) first.
	first := fmt.Sprintf("held shared by %q (pid %d on ", helperCommand+" shared", cmd.Process.Pid)
	second := fmt.Sprintf(" and shared by %q (pid %d on ", Command, os.Getpid())
	if !strings.Contains(msg, first) || !strings.Contains(msg, second) || strings.Index(msg, first) > strings.Index(msg, second) {
		t.Fatalf("message %q", msg)
	}
	s.Release()
	kill(t, cmd)
	mustAcquire(t, path, Exclusive)
}

// TestInProcess: two Acquire calls in one process exclude each other as two
// processes would.
func TestInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	s1 := mustAcquire(t, path, Shared)
	s2 := mustAcquire(t, path, Shared)
	err := mustBeBusy(t, path, Exclusive)
	if !strings.Contains(err.Error(), "held shared by ") || strings.Count(err.Error(), fmt.Sprintf("(pid %d ", os.Getpid())) != 2 {
		t.Fatalf("message %q", err)
	}
	s1.Release()
	mustBeBusy(t, path, Exclusive)
	s2.Release()

	x := mustAcquire(t, path, Exclusive)
	err = mustBeBusy(t, path, Shared)
	if !strings.Contains(err.Error(), "held exclusive by ") {
		t.Fatalf("message %q", err)
	}
	mustBeBusy(t, path, Exclusive)
	x.Release()
	mustAcquire(t, path, Shared)
}

// TestExclusiveGoroutines: goroutines taking the lock exclusive are never
// inside together.
func TestExclusiveGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var inside atomic.Int32
	var together atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				l, err := Acquire(context.Background(), path, "test lock", Exclusive, Forever)
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					together.Store(true)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				if err := l.Release(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if together.Load() {
		t.Fatal("two holders were inside at once")
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Fatalf("records left: %v", recs)
	}
}

// TestWait: a wait longer than zero gets the lock once its holder releases
// it in time, and gives up with ErrBusy when it does not.
func TestWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	x := mustAcquire(t, path, Exclusive)
	start := time.Now()
	_, err := Acquire(context.Background(), path, "test lock", Shared, 200*time.Millisecond)
	if !errors.Is(err, ErrBusy) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if !strings.Contains(err.Error(), "; still locked after 200ms; retry later, or wait longer with --lock-wait DURATION") {
		t.Fatalf("message %q", err)
	}

	time.AfterFunc(200*time.Millisecond, func() { x.Release() })
	start = time.Now()
	l, err := Acquire(context.Background(), path, "test lock", Shared, 10*time.Second)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Fatalf("got the lock after %v", d)
	}
	l.Release()
}

// TestCancel: cancelling the context ends a wait promptly.
func TestCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	mustAcquire(t, path, Exclusive)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Acquire(ctx, path, "dedup store /x", Exclusive, Forever)
	d := time.Since(start)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if d > 100*time.Millisecond+Poll+500*time.Millisecond {
		t.Fatalf("returned %v after the cancel", d-100*time.Millisecond)
	}
	if !strings.HasPrefix(err.Error(), "dedup store /x is locked: held exclusive by ") || !strings.HasSuffix(err.Error(), "; gave up waiting: context canceled") {
		t.Fatalf("message %q", err)
	}
	// A context that has ended takes no lock.
	if _, err := Acquire(ctx, filepath.Join(t.TempDir(), "free"), "x", Shared, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("with a cancelled context: %v", err)
	}
	// A deadline too.
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	if _, err := Acquire(dctx, path, "x", Shared, Forever); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBusy) {
		t.Fatalf("with a deadline: %v", err)
	}
}

// writeHolder writes a record as another holder would.
func writeHolder(t *testing.T, path string, h Holder) string {
	t.Helper()
	name, err := writeRecord(path, h)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestPIDReuse: a record of this host whose pid lives but started at
// another time, or of another boot, or of a pid nobody has, is stale.
func TestPIDReuse(t *testing.T) {
	if bootID() == "" || selfStart() == "" {
		t.Skip("no /proc start times here")
	}
	path := filepath.Join(t.TempDir(), "lock")
	since := time.Now().Add(-time.Hour)
	reused := writeHolder(t, path, Holder{Host: hostname(), PID: os.Getpid(), Start: bootID() + ":1", Since: since, Command: "reused", Mode: "exclusive"})
	reboot := writeHolder(t, path, Holder{Host: hostname(), PID: os.Getpid(), Start: "00000000-0000-0000-0000-000000000000:" + strings.SplitN(selfStart(), ":", 2)[1], Since: since, Command: "rebooted", Mode: "exclusive"})
	dead := writeHolder(t, path, Holder{Host: hostname(), PID: deadPID(t), Since: since, Command: "dead", Mode: "exclusive"})
	self := writeHolder(t, path, Holder{Host: hostname(), PID: os.Getpid(), Start: selfStart(), Since: since, Command: "self", Mode: "exclusive"})
	hs, err := Holders(path)
	if err != nil || len(hs) != 1 || hs[0].Command != "self" {
		t.Fatalf("holders: %+v %v", hs, err)
	}
	for _, p := range []string{reused, reboot, dead} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale record %s: %v", p, err)
		}
	}
	if _, err := os.Stat(self); err != nil {
		t.Errorf("live record: %v", err)
	}

	// On contention, the stale records are not reported.
	os.Remove(self)
	writeHolder(t, path, Holder{Host: hostname(), PID: os.Getpid(), Start: bootID() + ":1", Since: since, Command: "reused", Mode: "exclusive"})
	mustAcquire(t, path, Exclusive)
	err = mustBeBusy(t, path, Shared)
	if strings.Contains(err.Error(), "reused") || !strings.Contains(err.Error(), fmt.Sprintf("held exclusive by %q (pid %d on ", Command, os.Getpid())) {
		t.Fatalf("message %q", err)
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("true")
	if err != nil {
		bin = os.Args[0] // runs no test with -test.run=^$
	}
	cmd := exec.Command(bin, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestOtherHost: a record of another host is reported as such and never
// removed.
func TestOtherHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	since := time.Date(2025, 6, 1, 5, 20, 1, 0, time.UTC)
	rec := writeHolder(t, path, Holder{Host: "proxy-2.invalid", PID: 4242, Start: "x:1", Since: since, Command: "rb_module_rustack prune", Mode: "exclusive"})
	mustAcquire(t, path, Shared) // the flock is free: the record does not block
	err := mustBeBusy(t, path, Exclusive)
	want := fmt.Sprintf(`test lock is locked: held exclusive by "rb_module_rustack prune" (pid 4242 on proxy-2.invalid, since 2025-06-01 05:20:01 UTC) (on another host; cannot check from here)`+
		` and shared by %q (pid %d on %s, since `, Command, os.Getpid(), hostname())
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message\n%s\nwant prefix\n%s", err, want)
	}
	if _, err := os.Stat(rec); err != nil {
		t.Fatalf("the other host's record: %v", err)
	}
	hs, err := Holders(path)
	if err != nil || len(hs) != 2 || hs[0].Host != "proxy-2.invalid" {
		t.Fatalf("holders: %+v %v", hs, err)
	}
}

// TestMessage pins the message formats.
func TestMessage(t *testing.T) {
	since := time.Date(2026, 12, 5, 5, 20, 1, 0, time.UTC)
	h := Holder{Host: hostname(), PID: 4242, Since: since, Command: "rb_module_rustack prune", Mode: "exclusive"}
	h1 := Holder{Host: hostname(), PID: 1, Since: since, Command: "backup vm1", Mode: "shared"}
	h2 := Holder{Host: hostname(), PID: 2, Since: since.Add(time.Second), Command: "backup vm2", Mode: "shared"}
	host := hostname()
	for _, c := range []struct {
		e    *busyError
		want string
	}{
		{&busyError{what: "pool /srv/pool", holders: []Holder{h}},
			`pool /srv/pool is locked: held exclusive by "rb_module_rustack prune" (pid 4242 on ` + host + `, since 2026-12-05 05:20:01 UTC); retry later, or wait for it with --lock-wait DURATION`},
		{&busyError{what: "pool /p", holders: []Holder{h1, h2}, unrecorded: true, waited: 30 * time.Second},
			`pool /p is locked: held shared by "backup vm1" (pid 1 on ` + host + `, since 2026-12-05 05:20:01 UTC), shared by "backup vm2" (pid 2 on ` + host + `, since 2026-12-05 05:20:02 UTC) and by a process that left no holder record; still locked after 30s; retry later, or wait longer with --lock-wait DURATION`},
		{&busyError{what: "dedup store /s", unrecorded: true, cause: context.DeadlineExceeded},
			`dedup store /s is locked: held by a process that left no holder record; gave up waiting: context deadline exceeded`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("\n got %s\nwant %s", got, c.want)
		}
	}
}

// TestRelease: Release is idempotent and removes the record.
func TestRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := Acquire(context.Background(), path, "test lock", Exclusive, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs := records(t, path)
	if len(recs) != 1 {
		t.Fatalf("records: %v", recs)
	}
	data, err := os.ReadFile(filepath.Join(recordDir(path), recs[0]))
	if err != nil {
		t.Fatal(err)
	}
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil || h.PID != os.Getpid() || h.Mode != "exclusive" || h.Command != Command || h.Start != selfStart() || time.Since(h.Since) > time.Minute {
		t.Fatalf("record %s: %+v %v", data, h, err)
	}
	fi, err := os.Stat(recordDir(path))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("record directory: %v %v", fi.Mode(), err)
	}
	for i := range 3 {
		if err := l.Release(); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Fatalf("records after release: %v", recs)
	}
	l2 := mustAcquire(t, path, Exclusive)
	l.Release() // releasing the old lock again leaves the new one alone
	mustBeBusy(t, path, Shared)
	l2.Release()
}

// TestRemovedLockFile: a lock file removed while it is waited for is
// created anew, and the waiter locks the file the path names.
func TestRemovedLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	x := mustAcquire(t, path, Exclusive)
	time.AfterFunc(100*time.Millisecond, func() {
		os.Remove(path)
		x.Release()
	})
	l, err := Acquire(context.Background(), path, "test lock", Exclusive, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	mustBeBusy(t, path, Shared) // on the new file
}

// TestHelpers covers the parsing helpers.
func TestHelpers(t *testing.T) {
	host, pid, ok := parseName("proxy-1.example-4242-0a1b2c3d.json")
	if !ok || host != "proxy-1.example" || pid != 4242 {
		t.Fatalf("parseName: %q %d %v", host, pid, ok)
	}
	for _, bad := range []string{"x.json", "a-b-c.json", "a-1-c.txt", "-0-x.json"} {
		if _, _, ok := parseName(bad); ok {
			t.Errorf("parseName(%q) ok", bad)
		}
	}
	if got := FileHost(".a/b c"); got != "_a_b_c" {
		t.Errorf("fileHost: %q", got)
	}
	ticks, zombie, err := procStart(os.Getpid())
	if err == nil {
		if _, perr := strconv.ParseUint(ticks, 10, 64); perr != nil || zombie {
			t.Errorf("procStart: %q %v", ticks, zombie)
		}
	}
	if !alive(os.Getpid()) || alive(deadPID(t)) {
		t.Error("alive")
	}
	if Exclusive.String() != "exclusive" || Shared.String() != "shared" {
		t.Error("Mode.String")
	}
	if _, err := Acquire(context.Background(), filepath.Join(t.TempDir(), "l"), "x", Mode(7), 0); err == nil {
		t.Error("invalid mode accepted")
	}
}
