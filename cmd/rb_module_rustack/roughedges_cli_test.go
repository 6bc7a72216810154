package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConf writes a configuration file of the given lines (mode 0600) and
// returns its path.
func writeConf(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rb.conf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRoughEdges runs what a new user tries on day one, on one binary.
func TestRoughEdges(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log", "RuBackup.log")

	t.Run("url without scheme", func(t *testing.T) {
		conf := writeConf(t, "url 127.0.0.1:5000", "username u", "password pw", "domain d", "project_id p",
			"log_file "+logFile, "state_dir "+filepath.Join(dir, "state"))
		for _, args := range [][]string{{"-c", conf, "-l"}, {"-c", conf, "list"}, {"-c", conf, "config"}} {
			out, errOut, code := run(t, bin, args...)
			if code != exitUsage || !strings.Contains(errOut, conf+`:1: key "url": "127.0.0.1:5000" has no scheme: write https://127.0.0.1:5000/v3`) {
				t.Errorf("%v: exit %d, want %d naming %s:1 and the missing scheme\nstdout: %s\nstderr: %s", args, code, exitUsage, conf, out, errOut)
			}
		}
		out, errOut, code := run(t, bin, "-c", conf, "-t")
		if code != exitCheck || !strings.Contains(out, "FAIL  configuration: "+conf+`:1: key "url": "127.0.0.1:5000" has no scheme`) {
			t.Errorf("-t: exit %d, want %d and a FAIL line naming %s:1\nstdout: %s\nstderr: %s", code, exitCheck, conf, out, errOut)
		}
	})
}
