package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/logging"
)

// DefaultScript is the script run with "before" / "after" when it exists and
// is executable in the guest and no script is configured.
const DefaultScript = "/opt/rubackup/scripts/rustack.sh"

// DefaultScriptTimeout bounds one guest script when ScriptOptions.Timeout is 0.
const DefaultScriptTimeout = 300 * time.Second

// maxLoggedOutput caps how much of each output stream is written to the log.
const maxLoggedOutput = 1 << 20

// ScriptOptions selects and bounds the guest scripts. See the package
// documentation for the rules.
type ScriptOptions struct {
	Default      string        // run as `Default before|after`; DefaultScript if ""
	Before       string        // configured before script (script_before_snapshot): replaces Default, run without arguments
	After        string        // configured after script (script_after_snapshot): replaces Default, run without arguments
	Timeout      time.Duration // per script run; DefaultScriptTimeout if 0
	IgnoreErrors bool          // a failing script or an unreachable agent only logs a warning
	Log          logging.Log   // nil: discard
}

// Scripts runs the before/after scripts of one VM for one backup. Call
// Before once before the snapshots and After once after them (also when the
// snapshots failed); After decides by itself whether anything runs.
type Scripts struct {
	a *Agent
	o ScriptOptions

	mu           sync.Mutex
	beforeCalled bool
	beforeErr    error // the raw outcome of Before, before IgnoreErrors
	started      bool  // Before started a script (or may have: an unanswered guest-exec)
	afterCalled  bool
}

// ScriptError is a guest script that failed: it exited non-zero, was killed,
// did not finish in time, or could not be run (Err says why; it matches
// ErrAgentUnavailable when the agent could not be reached).
type ScriptError struct {
	Phase   string        // "before" or "after"
	Command string        // the script and its argument as run
	Domain  string        // libvirt domain
	Result  *ExecResult   // set when the script ran to the end
	Err     error         // set when it did not
	Timeout time.Duration // the script timeout in force
}

func (e *ScriptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "guest script %q (%s the snapshots) in domain %s ", e.Command, e.Phase, e.Domain)
	switch {
	case e.Result != nil && e.Result.Signal != 0:
		fmt.Fprintf(&b, "was killed by signal %d", e.Result.Signal)
	case e.Result != nil:
		fmt.Fprintf(&b, "exited with code %d", e.Result.ExitCode)
	case errors.Is(e.Err, ErrExecTimeout):
		fmt.Fprintf(&b, "did not finish within script_timeout (%s): %v", e.Timeout, e.Err)
	default:
		fmt.Fprintf(&b, "could not run: %v", e.Err)
	}
	if e.Result != nil {
		if out := outputTail(e.Result); out != "" {
			b.WriteString(": ")
			b.WriteString(out)
		}
	}
	switch {
	case e.Result != nil:
		b.WriteString(" (its output is in the log; fix the script, or set the rule parameter ignore_script_errors=yes to back up anyway)")
	case errors.Is(e.Err, ErrAgentUnavailable):
		b.WriteString(" (check that qemu-guest-agent runs in the VM and libvirt can reach it, or set the rule parameter ignore_script_errors=yes to back up without guest scripts)")
	default:
		b.WriteString(" (set the rule parameter ignore_script_errors=yes to back up without guest scripts)")
	}
	return b.String()
}

func (e *ScriptError) Unwrap() error { return e.Err }

// outputTail is the end of stderr, or of stdout when stderr is empty, on
// one line.
func outputTail(r *ExecResult) string {
	name, out := "stderr", r.Stderr
	if len(bytes.TrimSpace(out)) == 0 {
		name, out = "stdout", r.Stdout
	}
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return ""
	}
	lines := strings.Split(tail(out, 1024), "\n")
	if len(lines) > 10 {
		lines = append([]string{"..."}, lines[len(lines)-10:]...)
	}
	return name + ": " + strings.Join(lines, " | ")
}

// NewScripts prepares the scripts of the VM behind a.
func NewScripts(a *Agent, o ScriptOptions) *Scripts {
	if o.Default == "" {
		o.Default = DefaultScript
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultScriptTimeout
	}
	o.Before = strings.TrimSpace(o.Before)
	o.After = strings.TrimSpace(o.After)
	if o.Log == nil {
		o.Log = logging.Discard()
	}
	return &Scripts{a: a, o: o}
}

// Before runs the before script: the configured one, else the default
// script with "before" if it is executable in the guest, else nothing.
func (s *Scripts) Before(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.beforeCalled {
		return errors.New("guest scripts: Before called twice")
	}
	s.beforeCalled = true
	s.beforeErr = s.before(ctx)
	return s.outcome(s.beforeErr)
}

func (s *Scripts) before(ctx context.Context) error {
	switch {
	case s.o.Before != "":
		return s.run(ctx, "before", s.o.Before, nil, false)
	case s.o.After != "":
		// A configured script replaces the default one for both steps.
		s.o.Log.Infof("no guest script before the snapshots of %s: only script_after_snapshot is configured, and a configured script replaces %s for both steps", s.a.Domain(), s.o.Default)
		return nil
	}
	present, err := s.defaultPresent(ctx, "before")
	if err != nil || !present {
		return err
	}
	return s.run(ctx, "before", s.o.Default, []string{"before"}, true)
}

// afterGrace is how much longer than the script timeout After may take
// (checking for the default script, starting it, reading its status).
const afterGrace = 2 * time.Minute

// After runs the after script, once, when Before started a script (even a
// failed one) or when an after script is configured and Before succeeded.
// It ignores the cancellation of ctx (a backup interrupted by a signal must
// still undo what the before script did), and bounds itself by the script
// timeout plus a grace period instead.
func (s *Scripts) After(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.beforeCalled || s.afterCalled {
		return nil
	}
	s.afterCalled = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.Timeout+afterGrace)
	defer cancel()
	return s.outcome(s.after(ctx))
}

func (s *Scripts) after(ctx context.Context) error {
	dom := s.a.Domain()
	switch {
	case s.o.After != "" && (s.started || s.beforeErr == nil):
		return s.run(ctx, "after", s.o.After, nil, false)
	case s.o.After != "":
		s.o.Log.Infof("guest script %q (after) in %s skipped: the before phase failed before any script started", s.o.After, dom)
		return nil
	case s.o.Before != "":
		s.o.Log.Infof("no guest script after the snapshots of %s: only script_before_snapshot is configured, and a configured script replaces %s for both steps", dom, s.o.Default)
		return nil
	case !s.started:
		s.o.Log.Infof("no guest script after the snapshots of %s: none ran before them", dom)
		return nil
	}
	// What started before was the default script (no script is configured).
	return s.run(ctx, "after", s.o.Default, []string{"after"}, true)
}

// outcome applies IgnoreErrors.
func (s *Scripts) outcome(err error) error {
	if err == nil {
		return nil
	}
	if s.o.IgnoreErrors {
		s.o.Log.Warnf("%v; continuing because ignore_script_errors is set", err)
		return nil
	}
	return err
}

// defaultPresent reports whether the default script is executable in the
// guest. An agent that answers but cannot run the check (no `test` in the
// guest, guest-exec disabled) counts as "absent", with a warning; an agent
// that cannot be reached is an error.
func (s *Scripts) defaultPresent(ctx context.Context, phase string) (bool, error) {
	dom := s.a.Domain()
	ok, err := s.a.IsExecutable(ctx, s.o.Default)
	switch {
	case err != nil && isAgentRefusal(err):
		s.o.Log.Warnf("no guest script %s the snapshots of %s: cannot check for %s: %v", phase, dom, s.o.Default, err)
		return false, nil
	case err != nil:
		return false, &ScriptError{Phase: phase, Command: s.o.Default + " " + phase, Domain: dom, Timeout: s.o.Timeout,
			Err: fmt.Errorf("cannot check whether it exists: %w", err)}
	case !ok:
		s.o.Log.Infof("no guest script %s the snapshots of %s: %s is absent or not executable in the guest", phase, dom, s.o.Default)
	}
	return ok, nil
}

// run executes one script and logs its output.
func (s *Scripts) run(ctx context.Context, phase, path string, args []string, isDefault bool) error {
	dom := s.a.Domain()
	command := strings.Join(append([]string{path}, args...), " ")
	s.o.Log.Infof("running guest script %q (%s the snapshots) in %s", command, phase, dom)
	begin := time.Now()
	r, err := s.a.Exec(ctx, path, args, s.o.Timeout)
	if phase == "before" && !refusedToStart(err) {
		s.started = true
	}
	if err != nil {
		return &ScriptError{Phase: phase, Command: command, Domain: dom, Err: err, Timeout: s.o.Timeout}
	}
	s.logOutput(command, "stdout", r.Stdout, r.StdoutTruncated)
	s.logOutput(command, "stderr", r.Stderr, r.StderrTruncated)
	if !r.Success() {
		return &ScriptError{Phase: phase, Command: command, Domain: dom, Result: r, Timeout: s.o.Timeout}
	}
	s.o.Log.Infof("guest script %q (%s the snapshots) in %s finished in %s", command, phase, dom,
		time.Since(begin).Round(time.Millisecond))
	return nil
}

// refusedToStart reports whether guest-exec itself was refused by the agent
// (the program certainly did not start).
func refusedToStart(err error) bool {
	var ae *AgentError
	return err != nil && errors.As(err, &ae) && ae.Command == "guest-exec"
}

func (s *Scripts) logOutput(command, stream string, out []byte, truncated bool) {
	out = bytes.TrimRight(out, "\r\n")
	if len(out) == 0 {
		return
	}
	if len(out) > maxLoggedOutput {
		s.o.Log.Infof("guest script %q %s: (first %d bytes not logged)", command, stream, len(out)-maxLoggedOutput)
		out = out[len(out)-maxLoggedOutput:]
	}
	for _, ln := range strings.Split(string(out), "\n") {
		s.o.Log.Infof("guest script %q %s: %s", command, stream, strings.TrimRight(ln, "\r"))
	}
	if truncated {
		s.o.Log.Infof("guest script %q %s: (the guest agent truncated this output)", command, stream)
	}
}
