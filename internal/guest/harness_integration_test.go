package guest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/harnesstest"
)

// guestHarness is the shared OpenStack harness; it skips, loudly, also
// when Nova or the guest agent socket is not there.
func guestHarness(t *testing.T) *harnesstest.Harness {
	t.Helper()
	h := harnesstest.New(t)
	h.RequireTCP(t, "nova", "127.0.0.1:8774")
	h.RequireFile(t, "guest agent socket", h.Env["OS_HARNESS_QGA_SOCKET"])
	return h
}

// seedVM creates a VM of our own (fault files affect every user of a
// domain) and deletes it when the test ends.
func seedVM(t *testing.T, h *harnesstest.Harness) (domain string) {
	t.Helper()
	vm := h.SeedVM(t, harnesstest.Name("guest-test-"), "1G")
	if vm.InstanceName == "" {
		t.Fatalf("seed-vm: no instance name for %s", vm.ServerID)
	}
	t.Logf("seeded VM %s (%s), domain %s", vm.Name, vm.ServerID, vm.InstanceName)
	return vm.InstanceName
}

func integrationCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestHarnessIntegration(t *testing.T) {
	h := guestHarness(t)
	env := h.Env
	domain := seedVM(t, h)
	port, err := strconv.Atoi(env["OS_HARNESS_SSH_PORT"])
	if err != nil {
		t.Fatalf("OS_HARNESS_SSH_PORT %q: %v", env["OS_HARNESS_SSH_PORT"], err)
	}
	transports := []struct {
		name string
		t    Transport
	}{
		{"virsh", NewVirsh(VirshOptions{VirshPath: env["OS_HARNESS_VIRSH"], URI: env["OS_HARNESS_LIBVIRT_URI"]})},
		{"ssh", NewSSH(SSHOptions{
			Host: env["OS_HARNESS_SSH_HOST"], User: env["OS_HARNESS_SSH_USER"], Port: port,
			KeyFile: env["OS_HARNESS_SSH_KEY"], ConnectTimeout: 10 * time.Second,
			ExtraOptions: []string{"-o", "UserKnownHostsFile=" + env["OS_HARNESS_SSH_KNOWN_HOSTS"], "-o", "StrictHostKeyChecking=yes"},
		})},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			a := NewAgent(tr.t, domain)
			t.Run("ping", func(t *testing.T) { integrationPing(t, a, env) })
			t.Run("exec", func(t *testing.T) { integrationExec(t, a) })
			t.Run("default script before/after", func(t *testing.T) { integrationDefaultScript(t, a) })
			t.Run("configured scripts", func(t *testing.T) { integrationConfiguredScripts(t, a) })
			t.Run("failing script", func(t *testing.T) { integrationFailingScript(t, a) })
			t.Run("missing default script", func(t *testing.T) { integrationMissingDefault(t, a) })
			t.Run("agent down", func(t *testing.T) { integrationAgentDown(t, a, env) })
			t.Run("agent slow", func(t *testing.T) { integrationAgentSlow(t, a, env) })
		})
	}
}

func integrationPing(t *testing.T, a *Agent, env map[string]string) {
	ctx := integrationCtx(t)
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// an unknown domain is a clear error, not "unavailable"
	err := NewAgent(a.t, "instance-7fffffff").Ping(ctx)
	if err == nil || errors.Is(err, ErrAgentUnavailable) || !strings.Contains(err.Error(), "failed to get domain") {
		t.Fatalf("unknown domain: %v", err)
	}
}

func integrationExec(t *testing.T, a *Agent) {
	ctx := integrationCtx(t)
	r, err := a.Exec(ctx, "/bin/sh", []string{"-c", `printf 'out ü\nline2\n'; printf 'err \001\n' >&2; exit 5`}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 5 || string(r.Stdout) != "out ü\nline2\n" || string(r.Stderr) != "err \x01\n" || r.PID <= 0 {
		t.Fatalf("result %+v stdout %q stderr %q", r, r.Stdout, r.Stderr)
	}
	_, err = a.Exec(ctx, "/nonexistent/prog", nil, time.Minute)
	var ae *AgentError
	if !errors.As(err, &ae) || !strings.Contains(ae.Desc, "No such file") {
		t.Fatalf("missing program: %v", err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "x.sh")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{exe: true, plain: false, dir: false, filepath.Join(dir, "absent"): false} {
		got, err := a.IsExecutable(ctx, path)
		if err != nil || got != want {
			t.Errorf("IsExecutable(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
}

// markerScript writes a script that appends its argument (or name) to
// marker, and prints to both streams.
func markerScript(t *testing.T, path, marker, tag string, exit int) {
	t.Helper()
	body := "#!/bin/sh\n" +
		"echo \"" + tag + " ${1:-noarg}\" >> " + shellQuote(marker) + "\n" +
		"echo \"stdout of " + tag + " $1\"\n" +
		"echo \"stderr of " + tag + " $1\" >&2\n" +
		"exit " + strconv.Itoa(exit) + "\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func readMarker(t *testing.T, marker string) []string {
	t.Helper()
	b, err := os.ReadFile(marker)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func appendMarker(t *testing.T, marker, line string) {
	t.Helper()
	f, err := os.OpenFile(marker, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func integrationDefaultScript(t *testing.T, a *Agent) {
	ctx := integrationCtx(t)
	dir := t.TempDir()
	script, marker := filepath.Join(dir, "rustack.sh"), filepath.Join(dir, "marker")
	markerScript(t, script, marker, "default", 0)
	l := &recLog{}
	s := NewScripts(a, ScriptOptions{Default: script, Timeout: time.Minute, Log: l})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	appendMarker(t, marker, "snapshot")
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, readMarker(t, marker), "default before", "snapshot", "default after")
	for _, want := range []string{"stdout: stdout of default before", "stderr: stderr of default before", "stdout: stdout of default after"} {
		if !l.has(want) {
			t.Errorf("log lacks %q: %q", want, l.infos)
		}
	}
}

func integrationConfiguredScripts(t *testing.T, a *Agent) {
	ctx := integrationCtx(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	def, pre, post := filepath.Join(dir, "rustack.sh"), filepath.Join(dir, "pre.sh"), filepath.Join(dir, "post.sh")
	markerScript(t, def, marker, "default", 0)
	markerScript(t, pre, marker, "pre", 0)
	markerScript(t, post, marker, "post", 0)
	s := NewScripts(a, ScriptOptions{Default: def, Before: pre, After: post, Timeout: time.Minute, Log: &recLog{}})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	appendMarker(t, marker, "snapshot")
	if err := s.After(ctx); err != nil {
		t.Fatal(err)
	}
	// configured scripts replace the default and get no argument
	eq(t, readMarker(t, marker), "pre noarg", "snapshot", "post noarg")
}

func integrationFailingScript(t *testing.T, a *Agent) {
	ctx := integrationCtx(t)
	dir := t.TempDir()
	script, marker := filepath.Join(dir, "rustack.sh"), filepath.Join(dir, "marker")
	markerScript(t, script, marker, "failing", 3)
	l := &recLog{}
	s := NewScripts(a, ScriptOptions{Default: script, Timeout: time.Minute, Log: l})
	err := s.Before(ctx)
	var se *ScriptError
	if !errors.As(err, &se) || se.Result == nil || se.Result.ExitCode != 3 {
		t.Fatalf("before: %v", err)
	}
	if !strings.Contains(err.Error(), "exited with code 3") || !strings.Contains(err.Error(), "stderr of failing before") {
		t.Fatalf("error lacks the exit code or stderr: %v", err)
	}
	if !l.has("stdout: stdout of failing before") {
		t.Fatalf("stdout not logged: %q", l.infos)
	}
	// once before ran, after runs, even though before failed
	if err := s.After(ctx); !errors.As(err, &se) || se.Phase != "after" {
		t.Fatalf("after: %v", err)
	}
	eq(t, readMarker(t, marker), "failing before", "failing after")

	// and with ignore_script_errors the same is a warning
	l = &recLog{}
	s = NewScripts(a, ScriptOptions{Default: script, Timeout: time.Minute, Log: l, IgnoreErrors: true})
	if err := s.Before(ctx); err != nil {
		t.Fatal(err)
	}
	if len(l.warns) != 1 || !strings.Contains(l.warns[0], "stderr of failing before") {
		t.Fatalf("warnings %q", l.warns)
	}
}

func integrationMissingDefault(t *testing.T, a *Agent) {
	ctx := integrationCtx(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	notExec := filepath.Join(dir, "rustack.sh")
	markerScript(t, notExec, marker, "x", 0)
	if err := os.Chmod(notExec, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, def := range []string{filepath.Join(dir, "absent.sh"), notExec} {
		l := &recLog{}
		s := NewScripts(a, ScriptOptions{Default: def, Timeout: time.Minute, Log: l})
		if err := s.Before(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.After(ctx); err != nil {
			t.Fatal(err)
		}
		if !l.has("no guest script before") {
			t.Fatalf("%s: log %q", def, l.infos)
		}
	}
	if m := readMarker(t, marker); m != nil {
		t.Fatalf("a skipped script ran: %q", m)
	}
}

// fault creates a fault-injection file for the domain and removes it when
// the test ends.
func fault(t *testing.T, env map[string]string, domain, kind, content string) {
	t.Helper()
	p := filepath.Join(env["OS_HARNESS_QGA_DIR"], domain+"."+kind)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove fault file: %v", err)
		}
	})
}

func integrationAgentDown(t *testing.T, a *Agent, env map[string]string) {
	ctx := integrationCtx(t)
	fault(t, env, a.Domain(), "down", "")
	err := a.Ping(ctx)
	if !errors.Is(err, ErrAgentUnavailable) || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("ping: %v", err)
	}
	dir := t.TempDir()
	script, marker := filepath.Join(dir, "rustack.sh"), filepath.Join(dir, "marker")
	markerScript(t, script, marker, "down", 0)
	s := NewScripts(a, ScriptOptions{Default: script, Timeout: time.Minute, Log: &recLog{}})
	err = s.Before(ctx)
	var se *ScriptError
	if !errors.Is(err, ErrAgentUnavailable) || !errors.As(err, &se) || !strings.Contains(err.Error(), "qemu-guest-agent") {
		t.Fatalf("before: %v", err)
	}
	if err := s.After(ctx); err != nil {
		t.Fatalf("after: %v", err)
	}
	if m := readMarker(t, marker); m != nil {
		t.Fatalf("script ran with the agent down: %q", m)
	}
}

func integrationAgentSlow(t *testing.T, a *Agent, env map[string]string) {
	ctx := integrationCtx(t)
	fault(t, env, a.Domain(), "slow", "3")
	slow := NewAgent(a.t, a.Domain())
	slow.CommandTimeout = time.Second
	if err := slow.Ping(ctx); !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("slow ping: %v", err)
	}
}
