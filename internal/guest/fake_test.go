package guest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// program is what a path does when the fake guest runs it.
type program struct {
	exit      int
	signal    int // killed by this signal (no exit code)
	stdout    string
	stderr    string
	polls     int // guest-exec-status answers "not exited" this many times
	truncOut  bool
	neverExit bool
}

// fakeGuest is a Transport that simulates a qemu-ga: guest-exec of known
// paths, guest-exec-status, `test -f P -a -x P` against a set of
// executables, and injected failures.
type fakeGuest struct {
	mu          sync.Mutex
	programs    map[string]program
	executables map[string]bool
	noTest      bool  // `test` cannot be executed (Windows guest)
	down        error // every command fails with it
	statusErr   error // guest-exec-status fails with it

	nextPID int
	running map[int]*run
	execs   []string // "path arg..." in order, `test` included
	calls   []string // every command name
}

type run struct {
	p     program
	polls int
}

func newFakeGuest() *fakeGuest {
	return &fakeGuest{programs: map[string]program{}, executables: map[string]bool{}, running: map[int]*run{}, nextPID: 100}
}

func (f *fakeGuest) Command(ctx context.Context, domain string, cmd []byte, timeout time.Duration) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var req struct {
		Execute   string          `json:"execute"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(cmd, &req); err != nil {
		return nil, fmt.Errorf("fake: bad command %s", cmd)
	}
	f.calls = append(f.calls, req.Execute)
	if f.down != nil {
		return nil, f.down
	}
	switch req.Execute {
	case "guest-ping":
		return []byte(`{}`), nil
	case "guest-exec":
		var a struct {
			Path    string   `json:"path"`
			Arg     []string `json:"arg"`
			Capture bool     `json:"capture-output"`
		}
		if err := json.Unmarshal(req.Arguments, &a); err != nil || !a.Capture {
			return nil, fmt.Errorf("fake: bad guest-exec %s", req.Arguments)
		}
		f.execs = append(f.execs, strings.Join(append([]string{a.Path}, a.Arg...), " "))
		var p program
		switch {
		case a.Path == "test" && !f.noTest:
			if len(a.Arg) != 5 || a.Arg[0] != "-f" || a.Arg[2] != "-a" || a.Arg[3] != "-x" || a.Arg[1] != a.Arg[4] {
				return nil, fmt.Errorf("fake: unexpected test arguments %q", a.Arg)
			}
			if !f.executables[a.Arg[1]] {
				p.exit = 1
			}
		default:
			var ok bool
			p, ok = f.programs[a.Path]
			if !ok {
				return nil, &AgentError{Command: "guest-exec", Desc: fmt.Sprintf("Guest agent command failed, error was 'Failed to execute child process \u201c%s\u201d (No such file or directory)'", a.Path)}
			}
		}
		f.nextPID++
		f.running[f.nextPID] = &run{p: p}
		return []byte(fmt.Sprintf(`{"pid":%d}`, f.nextPID)), nil
	case "guest-exec-status":
		if f.statusErr != nil {
			return nil, f.statusErr
		}
		var a struct {
			PID int `json:"pid"`
		}
		_ = json.Unmarshal(req.Arguments, &a)
		r, ok := f.running[a.PID]
		if !ok {
			return nil, &AgentError{Command: "guest-exec-status", Desc: "Invalid parameter 'pid'"}
		}
		if r.p.neverExit || r.polls < r.p.polls {
			r.polls++
			return []byte(`{"exited":false}`), nil
		}
		delete(f.running, a.PID) // qemu-ga forgets it after one read
		st := map[string]any{"exited": true}
		if r.p.signal != 0 {
			st["signal"] = r.p.signal
		} else {
			st["exitcode"] = r.p.exit
		}
		if r.p.stdout != "" {
			st["out-data"] = base64.StdEncoding.EncodeToString([]byte(r.p.stdout))
		}
		if r.p.stderr != "" {
			st["err-data"] = base64.StdEncoding.EncodeToString([]byte(r.p.stderr))
		}
		if r.p.truncOut {
			st["out-truncated"] = true
		}
		return json.Marshal(st)
	}
	return nil, &AgentError{Command: req.Execute, Class: "CommandNotFound", Desc: "The command " + req.Execute + " has not been found"}
}

func (f *fakeGuest) runs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.execs {
		if !strings.HasPrefix(e, "test ") {
			out = append(out, e)
		}
	}
	return out
}

func (f *fakeGuest) probes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.execs {
		if strings.HasPrefix(e, "test ") {
			n++
		}
	}
	return n
}

// recLog records log lines.
type recLog struct {
	mu    sync.Mutex
	infos []string
	warns []string
}

func (l *recLog) Infof(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.infos = append(l.infos, fmt.Sprintf(format, args...))
}

func (l *recLog) Warnf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, fmt.Sprintf(format, args...))
}

// Debugf and Errorf satisfy logging.Log; the scripts log neither.
func (l *recLog) Debugf(string, ...any) {}
func (l *recLog) Errorf(string, ...any) {}

func (l *recLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range append(append([]string{}, l.infos...), l.warns...) {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func newTestAgent(t Transport) *Agent {
	a := NewAgent(t, "instance-0000002a")
	a.pollMin, a.pollMax = time.Millisecond, 2*time.Millisecond
	return a
}
