package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// runOnTTY runs the binary with stderr on a pseudo-terminal (120x30) and
// stdout on a pipe; it returns both and the exit code.
func runOnTTY(t *testing.T, bin string, args ...string) (stdout, tty string, code int) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(master, &pty.Winsize{Rows: 30, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&screen, master) // ends with EIO when the child is gone
		close(copied)
	}()
	err = cmd.Wait()
	<-copied
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), screen.String(), code
}

// TestProgressOnTerminal backs up two disks with stderr on a
// pseudo-terminal: a bar per disk and a total are drawn there, with bytes,
// MB/s and the end state, redrawn in place; on a pipe, with --progress
// never, --quiet or --json nothing is drawn; --progress always draws on a
// pipe too; a bad --progress value is a usage error.
func TestProgressOnTerminal(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	pool := filepath.Join(dir, "pool")
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	writeImage(t, a, 96<<20, 0)
	writeImage(t, b, 48<<20, 1)
	if _, e, code := run(t, bin, "keygen", "--key-file", key); code != 0 {
		t.Fatal(e)
	}
	backup := func(extra ...string) []string {
		return append([]string{"image", "backup", "--pool", pool, "--key-file", key, "--name", "vm1",
			"--disk", "vda=" + a, "--disk", "vdb=" + b, "--type", "full"}, extra...)
	}
	bar := regexp.MustCompile(`reading vda +96\.00 MiB / 96\.00 MiB \[=+\] 100 % +\d+ MB/s done`)

	stdout, screen, code := runOnTTY(t, bin, backup()...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	for _, want := range []string{"reading vdb", "48.00 MiB / 48.00 MiB", "total", "144.00 MiB / 144.00 MiB"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal shows no %q:\n%q", want, screen)
		}
	}
	if !bar.MatchString(screen) {
		t.Errorf("no complete bar for vda (bytes, percent, MB/s, done) on the terminal:\n%q", screen)
	}
	if !strings.Contains(screen, "\x1b[") {
		t.Errorf("the bars are not redrawn in place (no cursor movement):\n%q", screen)
	}
	if strings.Contains(stdout, "\x1b[") || strings.Contains(stdout, "reading vda") || !strings.Contains(stdout, "archive ") {
		t.Errorf("stdout has bars or lacks the summary:\n%q", stdout)
	}

	archiveID := regexp.MustCompile(`archive +(\S+)`).FindStringSubmatch(stdout)
	if archiveID == nil {
		t.Fatalf("no archive id in %q", stdout)
	}
	stdout, screen, code = runOnTTY(t, bin, "verify", archiveID[1], "--pool", pool, "--key-file", key)
	if code != 0 || !strings.HasPrefix(stdout, "OK ") || !strings.Contains(screen, "verifying vda") || !strings.Contains(screen, "verifying vdb") {
		t.Errorf("verify: exit %d, stdout %q, terminal:\n%q", code, stdout, screen)
	}
	_, screen, code = runOnTTY(t, bin, "restore", archiveID[1], "--pool", pool, "--key-file", key, "--to-dir", filepath.Join(dir, "out"))
	if code != 0 || !regexp.MustCompile(`writing vda +96\.00 MiB / 96\.00 MiB .* done`).MatchString(screen) {
		t.Errorf("restore: exit %d, terminal:\n%q", code, screen)
	}

	for _, extra := range [][]string{{"--progress", "never"}, {"--quiet"}, {"--json"}} {
		_, screen, code := runOnTTY(t, bin, backup(append([]string{"--type", "incremental"}, extra...)...)...)
		if code != 0 || strings.Contains(screen, "reading vd") || strings.Contains(screen, "\x1b[") {
			t.Errorf("%v: exit %d, the terminal shows:\n%q", extra, code, screen)
		}
	}

	_, stderr, code := run(t, bin, backup("--type", "incremental")...)
	if code != 0 || stderr != "" {
		t.Errorf("stderr on a pipe: exit %d, %q (want nothing)", code, stderr)
	}
	_, stderr, code = run(t, bin, backup("--type", "incremental", "--progress", "always")...)
	if code != 0 || !strings.Contains(stderr, "reading vda") || !strings.Contains(stderr, "total") {
		t.Errorf("--progress always on a pipe: exit %d, %q", code, stderr)
	}
	_, stderr, code = run(t, bin, backup("--progress", "sometimes")...)
	if code != exitUsage || !strings.Contains(stderr, `--progress "sometimes"`) {
		t.Errorf("--progress sometimes: exit %d, %q", code, stderr)
	}
}
