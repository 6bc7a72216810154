package guest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultCommandTimeout bounds one agent command (not a guest-exec'd
// program, whose own timeout is given to Exec).
const DefaultCommandTimeout = 30 * time.Second

// Agent talks to the qemu-guest-agent of one domain through a Transport.
// Its methods may be called from several goroutines; the agent itself
// serialises commands.
type Agent struct {
	t      Transport
	domain string

	// CommandTimeout bounds each agent command; DefaultCommandTimeout if 0.
	CommandTimeout time.Duration

	pollMin, pollMax time.Duration // guest-exec-status backoff
}

// NewAgent returns an Agent for the libvirt domain (instance name).
func NewAgent(t Transport, domain string) *Agent {
	return &Agent{t: t, domain: domain, pollMin: 50 * time.Millisecond, pollMax: time.Second}
}

// Domain is the libvirt domain name the agent addresses.
func (a *Agent) Domain() string { return a.domain }

func (a *Agent) commandTimeout() time.Duration {
	if a.CommandTimeout > 0 {
		return a.CommandTimeout
	}
	return DefaultCommandTimeout
}

// Call sends the QGA command execute with args (nil for none) and decodes
// the reply's "return" value into out (nil to ignore it).
func (a *Agent) Call(ctx context.Context, execute string, args any, out any) error {
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
	}{execute, args}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s: %w", execute, err)
	}
	ret, err := a.t.Command(ctx, a.domain, b, a.commandTimeout())
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ret, out); err != nil {
		return fmt.Errorf("%s on domain %s: unexpected reply %q: %w", execute, a.domain, tail(ret, 200), err)
	}
	return nil
}

// Ping checks that the agent answers (guest-ping).
func (a *Agent) Ping(ctx context.Context) error {
	return a.Call(ctx, "guest-ping", nil, nil)
}

// ExecResult is the outcome of a program run with Exec.
type ExecResult struct {
	PID             int
	ExitCode        int // -1 when the program was killed by a signal
	Signal          int // the signal that ended it, 0 if it exited
	Stdout, Stderr  []byte
	StdoutTruncated bool // the agent dropped output past its limit (16 MiB in qemu-ga)
	StderrTruncated bool
}

// Success reports whether the program exited with code 0.
func (r *ExecResult) Success() bool { return r.ExitCode == 0 && r.Signal == 0 }

type execStatus struct {
	Exited       bool   `json:"exited"`
	ExitCode     *int   `json:"exitcode"`
	Signal       *int   `json:"signal"`
	OutData      []byte `json:"out-data"` // base64 in JSON
	ErrData      []byte `json:"err-data"`
	OutTruncated bool   `json:"out-truncated"`
	ErrTruncated bool   `json:"err-truncated"`
}

// Exec runs path with args in the guest (guest-exec with capture-output),
// then polls guest-exec-status with a short backoff until the program exits
// or timeout passes (DefaultScriptTimeout if timeout <= 0). A program still
// running then gives an error matching ErrExecTimeout; it is not stopped
// (qemu-ga cannot kill it). A program that cannot be started gives an
// *AgentError. A non-zero exit is not an error: see ExecResult.ExitCode.
func (a *Agent) Exec(ctx context.Context, path string, args []string, timeout time.Duration) (*ExecResult, error) {
	start := time.Now()
	if timeout <= 0 {
		timeout = DefaultScriptTimeout
	}
	req := struct {
		Path          string   `json:"path"`
		Arg           []string `json:"arg,omitempty"`
		CaptureOutput bool     `json:"capture-output"`
	}{path, args, true}
	var started struct {
		PID *int `json:"pid"`
	}
	if err := a.Call(ctx, "guest-exec", req, &started); err != nil {
		return nil, fmt.Errorf("start %s in the guest: %w", path, err)
	}
	if started.PID == nil {
		return nil, fmt.Errorf("start %s in the guest: the agent returned no pid", path)
	}
	pid := *started.PID
	wait := a.pollMin
	for {
		var st execStatus
		if err := a.Call(ctx, "guest-exec-status", map[string]int{"pid": pid}, &st); err != nil {
			return nil, fmt.Errorf("status of %s (pid %d) in the guest: %w", path, pid, err)
		}
		if st.Exited {
			r := &ExecResult{
				PID: pid, Stdout: st.OutData, Stderr: st.ErrData,
				StdoutTruncated: st.OutTruncated, StderrTruncated: st.ErrTruncated,
			}
			switch {
			case st.ExitCode != nil:
				r.ExitCode = *st.ExitCode
			case st.Signal != nil:
				r.ExitCode, r.Signal = -1, *st.Signal
			default:
				r.ExitCode = -1
			}
			return r, nil
		}
		left := timeout - time.Since(start)
		if left <= 0 {
			return nil, fmt.Errorf("%s (pid %d) in domain %s still running after %s: %w",
				path, pid, a.domain, timeout, ErrExecTimeout)
		}
		d := min(wait, left)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for %s (pid %d) in the guest: %w", path, pid, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, a.pollMax)
	}
}

// IsExecutable reports whether path is a regular executable file in the
// guest, by running `test -f PATH -a -x PATH` there (exit 0 = yes, 1 = no).
// Any other outcome is an error; an agent that cannot run `test` (for
// example a Windows guest) gives an *AgentError.
func (a *Agent) IsExecutable(ctx context.Context, path string) (bool, error) {
	r, err := a.Exec(ctx, "test", []string{"-f", path, "-a", "-x", path}, a.commandTimeout())
	if err != nil {
		return false, fmt.Errorf("check %s in the guest: %w", path, err)
	}
	switch {
	case r.ExitCode == 0 && r.Signal == 0:
		return true, nil
	case r.ExitCode == 1:
		return false, nil
	}
	return false, fmt.Errorf("check %s in the guest: test exited with code %d (signal %d): %s",
		path, r.ExitCode, r.Signal, tail(append(r.Stderr, r.Stdout...), 256))
}

// isAgentRefusal reports whether err is the agent answering with an error
// (reachable, but the command failed).
func isAgentRefusal(err error) bool {
	var ae *AgentError
	return errors.As(err, &ae)
}
