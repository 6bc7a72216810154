package guest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExecPollsUntilExitedAndDecodes(t *testing.T) {
	g := newFakeGuest()
	g.programs["/bin/job"] = program{exit: 0, stdout: "line 1\nline 2\n", stderr: "warn: ü\n", polls: 3}
	a := newTestAgent(g)
	r, err := a.Exec(context.Background(), "/bin/job", []string{"x", "y z"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !r.Success() || r.Signal != 0 {
		t.Fatalf("result %+v", r)
	}
	if string(r.Stdout) != "line 1\nline 2\n" || string(r.Stderr) != "warn: ü\n" {
		t.Fatalf("stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	if r.StdoutTruncated || r.StderrTruncated {
		t.Fatal("truncation reported")
	}
	// one guest-exec, then 3 "not exited" and the final status
	want := []string{"guest-exec", "guest-exec-status", "guest-exec-status", "guest-exec-status", "guest-exec-status"}
	if strings.Join(g.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v, want %v", g.calls, want)
	}
	if g.execs[0] != "/bin/job x y z" {
		t.Fatalf("exec %q", g.execs[0])
	}
}

func TestExecExitCodeSignalTruncated(t *testing.T) {
	g := newFakeGuest()
	g.programs["/fail"] = program{exit: 3, stderr: "boom"}
	g.programs["/killed"] = program{signal: 9}
	g.programs["/big"] = program{stdout: "partial", truncOut: true}
	a := newTestAgent(g)
	ctx := context.Background()

	r, err := a.Exec(ctx, "/fail", nil, time.Minute)
	if err != nil || r.ExitCode != 3 || r.Success() || string(r.Stderr) != "boom" {
		t.Fatalf("fail: %+v %v", r, err)
	}
	r, err = a.Exec(ctx, "/killed", nil, time.Minute)
	if err != nil || r.Signal != 9 || r.ExitCode != -1 || r.Success() {
		t.Fatalf("killed: %+v %v", r, err)
	}
	r, err = a.Exec(ctx, "/big", nil, time.Minute)
	if err != nil || !r.StdoutTruncated || string(r.Stdout) != "partial" {
		t.Fatalf("big: %+v %v", r, err)
	}
}

func TestExecErrors(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	a := newTestAgent(g)
	_, err := a.Exec(ctx, "/missing", nil, time.Minute)
	var ae *AgentError
	if !errors.As(err, &ae) || ae.Command != "guest-exec" || !strings.Contains(err.Error(), "No such file") {
		t.Fatalf("missing program: %v", err)
	}

	g.programs["/slow"] = program{neverExit: true}
	_, err = a.Exec(ctx, "/slow", nil, 20*time.Millisecond)
	if !errors.Is(err, ErrExecTimeout) || !strings.Contains(err.Error(), "/slow") {
		t.Fatalf("timeout: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = a.Exec(cctx, "/slow", nil, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}

	g.programs["/ok"] = program{}
	g.statusErr = &unavailableError{msg: "Guest agent is not responding: Guest agent not available for now"}
	_, err = a.Exec(ctx, "/ok", nil, time.Minute)
	if !errors.Is(err, ErrAgentUnavailable) || !strings.Contains(err.Error(), "status of /ok") {
		t.Fatalf("status unavailable: %v", err)
	}

	g.statusErr = nil
	g.down = &unavailableError{msg: "QEMU guest agent is not connected"}
	if err := a.Ping(ctx); !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("ping down: %v", err)
	}
	g.down = nil
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestExecBadReplies(t *testing.T) {
	for _, tc := range []struct{ name, exec, status string }{
		{"no pid", `{}`, ``},
		{"pid not a number", `{"pid":"x"}`, ``},
		{"bad base64", `{"pid":1}`, `{"exited":true,"exitcode":0,"out-data":"%%%"}`},
		{"status not an object", `{"pid":1}`, `[1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := scripted{"guest-exec": tc.exec, "guest-exec-status": tc.status}
			_, err := newTestAgent(tr).Exec(context.Background(), "/x", nil, time.Minute)
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// scripted answers each command with a fixed return value.
type scripted map[string]string

func (s scripted) Command(ctx context.Context, domain string, cmd []byte, timeout time.Duration) ([]byte, error) {
	for k, v := range s {
		if strings.Contains(string(cmd), `"`+k+`"`) {
			return []byte(v), nil
		}
	}
	return nil, errors.New("unexpected command")
}

func TestIsExecutable(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.executables["/opt/s.sh"] = true
	a := newTestAgent(g)
	if ok, err := a.IsExecutable(ctx, "/opt/s.sh"); err != nil || !ok {
		t.Fatalf("present: %v %v", ok, err)
	}
	if ok, err := a.IsExecutable(ctx, "/opt/other.sh"); err != nil || ok {
		t.Fatalf("absent: %v %v", ok, err)
	}
	g.noTest = true
	if _, err := a.IsExecutable(ctx, "/opt/s.sh"); !isAgentRefusal(err) {
		t.Fatalf("no test: %v", err)
	}
	g.noTest = false
	g.programs["test"] = program{exit: 2, stderr: "test: too many arguments"}
	g.executables = nil
	g.noTest = true // route `test` to the programs table
	_, err := a.IsExecutable(ctx, "/opt/s.sh")
	if err == nil || !strings.Contains(err.Error(), "code 2") || !strings.Contains(err.Error(), "too many arguments") {
		t.Fatalf("exit 2: %v", err)
	}
}
