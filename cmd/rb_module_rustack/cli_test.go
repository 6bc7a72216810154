package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildBinary compiles the command once per test into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	return build(t)
}

// buildRaceBinary builds the binary with the race detector when the tests
// run under it (go test -race): processes that share a repository then
// check their own concurrency too, and a race ends one with exit code 66.
func buildRaceBinary(t *testing.T) string {
	t.Helper()
	if raceEnabled {
		return build(t, "-race")
	}
	return build(t)
}

func build(t *testing.T, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rb_module_rustack")
	args := append([]string{"build", "-o", bin, "-ldflags", "-X main.version=9.8.7-test"}, flags...)
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run executes the binary and returns stdout, stderr and the exit code.
func run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	const password = "Pa55-w0rd#never-shown"

	t.Run("dedup flag", func(t *testing.T) {
		out, errOut, code := run(t, bin, "-D")
		if code != exitOK || out != "" || errOut != "" {
			t.Errorf("-D: code %d, stdout %q, stderr %q; want 0 and silence", code, out, errOut)
		}
	})

	t.Run("version", func(t *testing.T) {
		out, _, code := run(t, bin, "--version")
		if code != exitOK || !strings.Contains(out, "9.8.7-test") {
			t.Errorf("--version: code %d, stdout %q", code, out)
		}
	})

	t.Run("help lists every command", func(t *testing.T) {
		out, _, code := run(t, bin, "--help")
		if code != exitOK {
			t.Errorf("--help: code %d", code)
		}
		for _, c := range []string{"list", "test", "backup", "restore", "image", "verify", "archives", "keygen", "key", "cleanup", "demo", "config", "algorithms", "-l, --list", "-t, --test", "-D, --dedup", "-c, --config", "--param"} {
			if !strings.Contains(out, "  "+c) {
				t.Errorf("--help does not list %q:\n%s", c, out)
			}
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{{"--no-such-flag"}, {"no-such-command"}, {"config", "extra-arg"}, {"--param", "novalue", "config"}} {
			_, errOut, code := run(t, bin, args...)
			if code != exitUsage || !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("%v: code %d, stderr %q; want 2 and an error line", args, code, errOut)
			}
		}
	})

	t.Run("config error names file line and key", func(t *testing.T) {
		conf := filepath.Join(dir, "bad.conf")
		text := "url http://127.0.0.1:5000/v3\npassword " + password + "\n# comment\ntimeout 0\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := run(t, bin, "config", "-c", conf)
		want := "error: " + conf + `:4: key "timeout": "0" is not a whole number in 1..300 seconds` + "\n"
		if code != exitUsage || errOut != want {
			t.Errorf("code %d, stderr %q; want 2 and %q", code, errOut, want)
		}
		if strings.Contains(out+errOut, password) {
			t.Errorf("output shows the password")
		}
	})

	t.Run("missing config file", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.conf")
		_, errOut, code := run(t, bin, "config", "-c", missing)
		if code != exitUsage || !strings.Contains(errOut, missing) {
			t.Errorf("code %d, stderr %q", code, errOut)
		}
	})

	t.Run("config prints effective values without secrets", func(t *testing.T) {
		conf := filepath.Join(dir, "good.conf")
		text := "url http://127.0.0.1:5000/v3\nusername u\npassword " + password + "\ndomain d\nproject_id p\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := run(t, bin, "config", "-c", conf, "--param", "timeout=7", "--param", "admin_password="+password)
		if code != exitOK {
			t.Fatalf("code %d, stderr %q", code, errOut)
		}
		if strings.Contains(out+errOut, password) {
			t.Errorf("output shows the password:\n%s", out)
		}
		for _, want := range []string{conf + ":1", `rule parameter "timeout"`, "password", "***"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		_, errOut, code = run(t, bin, "config", "-c", conf, "--for", "backup")
		if code != exitUsage || !strings.Contains(errOut, conf+": backup needs the key rubackup-vm-id") {
			t.Errorf("--for backup: code %d, stderr %q", code, errOut)
		}
	})
}
