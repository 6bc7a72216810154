package guest

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const def = DefaultScript

func newTestScripts(g *fakeGuest, o ScriptOptions) (*Scripts, *recLog) {
	l := &recLog{}
	o.Log = l
	return NewScripts(newTestAgent(g), o), l
}

func eq(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ran %q, want %q", got, want)
	}
}

func TestDefaultScriptAbsent(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(g *fakeGuest)
	}{
		{"missing", func(g *fakeGuest) {}},
		{"not executable", func(g *fakeGuest) { g.programs[def] = program{} /* exists but test -x fails */ }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFakeGuest()
			tc.setup(g)
			s, l := newTestScripts(g, ScriptOptions{})
			if err := s.Before(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.After(ctx); err != nil {
				t.Fatal(err)
			}
			eq(t, g.runs())
			if g.probes() != 1 {
				t.Fatalf("%d probes, want 1", g.probes())
			}
			if !l.has("no guest script before") {
				t.Fatalf("log %q", l.infos)
			}
		})
	}
}

func TestDefaultScriptBeforeAfter(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.executables[def] = true
	g.programs[def] = program{stdout: "flushed db\nok\n", stderr: "note\n", polls: 2}
	s, l := newTestScripts(g, ScriptOptions{})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs(), def+" before")
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs(), def+" before", def+" after")
	if g.probes() != 1 {
		t.Fatalf("%d probes, want 1 (after reuses the answer)", g.probes())
	}
	for _, want := range []string{`stdout: flushed db`, `stdout: ok`, `stderr: note`} {
		if !l.has(want) {
			t.Fatalf("log lacks %q: %q", want, l.infos)
		}
	}
	// After runs once.
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs(), def+" before", def+" after")
}

func TestBeforeFailsAfterStillRuns(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.executables[def] = true
	g.programs[def] = program{exit: 3, stdout: "starting\n", stderr: "pg_ctl: could not stop\n"}
	s, l := newTestScripts(g, ScriptOptions{})
	err := s.Before(ctx)
	var se *ScriptError
	if !errors.As(err, &se) || se.Result == nil || se.Result.ExitCode != 3 || se.Phase != "before" {
		t.Fatalf("before: %v", err)
	}
	for _, want := range []string{"exited with code 3", "pg_ctl: could not stop", "ignore_script_errors"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if !l.has("stdout: starting") || !l.has("stderr: pg_ctl: could not stop") {
		t.Fatalf("full output not logged: %q", l.infos)
	}
	// after runs (and fails the same way here)
	err = s.After(ctx)
	if !errors.As(err, &se) || se.Phase != "after" {
		t.Fatalf("after: %v", err)
	}
	eq(t, g.runs(), def+" before", def+" after")
}

func TestIgnoreErrors(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.executables[def] = true
	g.programs[def] = program{exit: 3, stderr: "boom"}
	s, l := newTestScripts(g, ScriptOptions{IgnoreErrors: true})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs(), def+" before", def+" after")
	if len(l.warns) != 2 || !strings.Contains(l.warns[0], "exited with code 3") || !strings.Contains(l.warns[0], "boom") {
		t.Fatalf("warnings %q", l.warns)
	}

	// unreachable agent, ignored
	g2 := newFakeGuest()
	g2.down = &unavailableError{msg: "QEMU guest agent is not connected"}
	s2, l2 := newTestScripts(g2, ScriptOptions{IgnoreErrors: true})
	if err := s2.Before(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.After(ctx); err != nil {
		t.Fatal(err)
	}
	if len(l2.warns) != 1 || !strings.Contains(l2.warns[0], "not connected") {
		t.Fatalf("warnings %q", l2.warns)
	}
}

func TestAgentUnavailable(t *testing.T) {
	ctx := context.Background()
	down := &unavailableError{msg: "Guest agent is not responding: QEMU guest agent is not connected"}

	// default script: the check fails, nothing started, after does nothing
	g := newFakeGuest()
	g.down = down
	s, _ := newTestScripts(g, ScriptOptions{})
	err := s.Before(ctx)
	if !errors.Is(err, ErrAgentUnavailable) || !strings.Contains(err.Error(), "qemu-guest-agent") {
		t.Fatalf("before: %v", err)
	}
	n := len(g.calls)
	if err := s.After(ctx); err != nil {
		t.Fatalf("after: %v", err)
	}
	if len(g.calls) != n {
		t.Fatal("after talked to the agent although nothing ran before")
	}

	// configured script: guest-exec unanswered means it may have started,
	// so after is attempted too
	g = newFakeGuest()
	g.down = down
	s, _ = newTestScripts(g, ScriptOptions{Before: "/b.sh", After: "/a.sh"})
	if err := s.Before(ctx); !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("before: %v", err)
	}
	if err := s.After(ctx); !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("after: %v", err)
	}
	if strings.Join(g.calls, ",") != "guest-exec,guest-exec" {
		t.Fatalf("calls %v", g.calls)
	}
}

func TestConfiguredScripts(t *testing.T) {
	ctx := context.Background()
	t.Run("both", func(t *testing.T) {
		g := newFakeGuest()
		g.executables[def] = true
		g.programs["/usr/local/bin/pre"] = program{}
		g.programs["/usr/local/bin/post"] = program{}
		s, _ := newTestScripts(g, ScriptOptions{Before: "/usr/local/bin/pre", After: " /usr/local/bin/post "})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/usr/local/bin/pre", "/usr/local/bin/post")
		if g.probes() != 0 {
			t.Fatal("default script checked although both are configured")
		}
	})
	// A configured script replaces rustack.sh for both steps: with only
	// script_before_snapshot, rustack.sh after does not run (nor is it
	// looked for), and the log says why.
	t.Run("before only, default present but not used", func(t *testing.T) {
		g := newFakeGuest()
		g.executables[def] = true
		g.programs[def] = program{}
		g.programs["/pre"] = program{}
		s, l := newTestScripts(g, ScriptOptions{Before: "/pre"})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/pre")
		if g.probes() != 0 {
			t.Fatalf("default script checked %d time(s) although a script is configured", g.probes())
		}
		if !l.has("only script_before_snapshot is configured") {
			t.Fatalf("log %q", l.infos)
		}
	})
	t.Run("after only, default present but not used", func(t *testing.T) {
		g := newFakeGuest()
		g.executables[def] = true
		g.programs[def] = program{}
		g.programs["/post"] = program{}
		s, l := newTestScripts(g, ScriptOptions{After: "/post"})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/post")
		if g.probes() != 0 {
			t.Fatalf("default script checked %d time(s) although a script is configured", g.probes())
		}
		if !l.has("only script_after_snapshot is configured") {
			t.Fatalf("log %q", l.infos)
		}
	})
	t.Run("before only, no default", func(t *testing.T) {
		g := newFakeGuest()
		g.programs["/pre"] = program{}
		s, l := newTestScripts(g, ScriptOptions{Before: "/pre"})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/pre")
		if !l.has("no guest script after") || g.probes() != 0 {
			t.Fatalf("log %q, %d probe(s)", l.infos, g.probes())
		}
	})
	t.Run("after only", func(t *testing.T) {
		g := newFakeGuest()
		g.programs["/post"] = program{}
		s, _ := newTestScripts(g, ScriptOptions{After: "/post"})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/post")
	})
	t.Run("configured before missing", func(t *testing.T) {
		g := newFakeGuest()
		g.programs["/post"] = program{}
		s, l := newTestScripts(g, ScriptOptions{Before: "/nope.sh", After: "/post"})
		err := s.Before(ctx)
		var ae *AgentError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "No such file") || !strings.Contains(err.Error(), "/nope.sh") {
			t.Fatalf("before: %v", err)
		}
		// it never started, so the after script is skipped
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/nope.sh") // the refused attempt only
		if !l.has("skipped") {
			t.Fatalf("log %q", l.infos)
		}
	})
	t.Run("custom default path", func(t *testing.T) {
		g := newFakeGuest()
		g.executables["/srv/hook"] = true
		g.programs["/srv/hook"] = program{}
		s, _ := newTestScripts(g, ScriptOptions{Default: "/srv/hook"})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		eq(t, g.runs(), "/srv/hook before", "/srv/hook after")
	})
}

func TestNoTestInGuestCountsAsAbsent(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.noTest = true
	s, l := newTestScripts(g, ScriptOptions{})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs())
	if len(l.warns) != 1 || !strings.Contains(l.warns[0], "cannot check") {
		t.Fatalf("warnings %q", l.warns)
	}
}

func TestAfterWithoutBeforeAndBeforeTwice(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.programs["/post"] = program{}
	s, _ := newTestScripts(g, ScriptOptions{After: "/post"})
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	if len(g.calls) != 0 {
		t.Fatalf("after without before called %v", g.calls)
	}
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Before(ctx); err == nil {
		t.Fatal("second Before accepted")
	}
}

func TestScriptTimeout(t *testing.T) {
	ctx := context.Background()
	g := newFakeGuest()
	g.executables[def] = true
	g.programs[def] = program{neverExit: true}
	s, _ := newTestScripts(g, ScriptOptions{Timeout: 5e6 /* 5 ms */})
	err := s.Before(ctx)
	if !errors.Is(err, ErrExecTimeout) || !strings.Contains(err.Error(), "script_timeout") {
		t.Fatalf("before: %v", err)
	}
	// it is running, so after runs (and times out too)
	if err := s.After(ctx); !errors.Is(err, ErrExecTimeout) {
		t.Fatalf("after: %v", err)
	}
	eq(t, g.runs(), def+" before", def+" after")
}

func TestOutputTail(t *testing.T) {
	var lines []string
	for i := 0; i < 50; i++ {
		lines = append(lines, "line "+strings.Repeat("x", i%3)+string(rune('a'+i%26)))
	}
	r := &ExecResult{ExitCode: 1, Stdout: []byte(strings.Join(lines, "\n"))}
	got := outputTail(r)
	if !strings.HasPrefix(got, "stdout: ...") || !strings.HasSuffix(got, lines[49]) || strings.Contains(got, lines[0]+" |") {
		t.Fatalf("tail %q", got)
	}
	r.Stderr = []byte("only this\n")
	if got := outputTail(r); got != "stderr: only this" {
		t.Fatalf("tail %q", got)
	}
}

func TestAfterRunsAfterCancel(t *testing.T) {
	g := newFakeGuest()
	g.executables[def] = true
	g.programs[def] = program{}
	s, _ := newTestScripts(g, ScriptOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM during the snapshots
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, g.runs(), def+" before", def+" after")
}
