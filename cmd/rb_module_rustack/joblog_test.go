package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// logLines reads the log file (no file: no lines).
func logLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestFailedJobsLoggedAsError runs failing jobs of every kind (cloud:
// list, -l, test, -t, backup, restore; engine: verify, restore --to-dir,
// image backup, prune, forget, delete) and checks that each leaves exactly
// one ERROR line naming the job and its cause in the log file, that every
// line of the job carries one job id, and that no secret reaches the log.
func TestFailedJobsLoggedAsError(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	const password = "Pa55-w0rd#log-never-shows"
	logFile := filepath.Join(dir, "log", "RuBackup.log")
	pool := filepath.Join(dir, "pool")
	key := filepath.Join(dir, "key")
	if _, e, code := run(t, bin, "keygen", "--key-file", key); code != 0 {
		t.Fatalf("keygen: %s", e)
	}
	if err := os.MkdirAll(pool, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rb.conf")
	text := strings.Join([]string{
		"url http://127.0.0.1:1/v3", // nothing listens: connection refused
		"username u", "password " + password, "domain d", "project_id p", "rubackup-vm-id proxy",
		"timeout 1", "log_file " + logFile, "state_dir " + filepath.Join(dir, "state"),
		"pool " + pool, "master_key_file " + key, "",
	}, "\n")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk.img")
	writeImage(t, img, 1<<20, 0)
	idRE := regexp.MustCompile(`rb_module_rustack\[\d+\]: job=([a-z0-9]{10}) `)
	for _, c := range []struct {
		job  string
		args []string
		code int
		want string // in the ERROR line
	}{
		{"list", []string{"list"}, exitFailure, "127.0.0.1:1"},
		{"list", []string{"-l"}, exitFailure, "127.0.0.1:1"},
		{"test", []string{"test"}, exitCheck, "check(s) failed: keystone: "},
		{"test", []string{"-t"}, exitCheck, "check(s) failed: keystone: "},
		{"backup", []string{"backup", "--vm", "web01", "--type", "full"}, exitFailure, "127.0.0.1:1"},
		{"restore", []string{"restore", "web01-20260101T000000.000Z-full-abcdef", "--deploy"}, exitFailure, "web01-20260101T000000.000Z-full-abcdef"},
		{"restore", []string{"restore", "nosuch", "--to-dir", filepath.Join(dir, "out")}, exitFailure, "nosuch"},
		{"verify", []string{"verify", "nosuch"}, exitFailure, "nosuch"},
		{"image backup", []string{"image", "backup", "--name", "vm", "--disk", "vda=" + img, "--key-file", filepath.Join(dir, "nokey")}, exitUsage, "nokey"},
		{"delete", []string{"delete", "nosuch"}, exitUsage, "nosuch"},
		{"prune", []string{"prune", "--max-unused", "200%"}, exitUsage, "--max-unused"},
		{"forget", []string{"forget", "--vm", "nosuch", "--keep-last", "1"}, exitUsage, "nosuch"},
	} {
		before := len(logLines(t, logFile))
		_, errOut, code := run(t, bin, append([]string{"-c", conf}, c.args...)...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, errOut)
			continue
		}
		lines := logLines(t, logFile)[before:]
		var errs []string
		ids := map[string]bool{}
		for _, l := range lines {
			m := idRE.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%v: a log line without the job id: %q", c.args, l)
				continue
			}
			ids[m[1]] = true
			if strings.Contains(l, " ERROR ") {
				errs = append(errs, l)
			}
		}
		if len(ids) != 1 {
			t.Errorf("%v: %d job ids in the job's lines, want 1:\n%s", c.args, len(ids), strings.Join(lines, "\n"))
		}
		if len(errs) != 1 || !strings.Contains(errs[0], c.job+" failed (exit ") || !strings.Contains(errs[0], c.want) {
			t.Errorf("%v: want one ERROR line with %q and %q, got:\n%s", c.args, c.job+" failed", c.want, strings.Join(lines, "\n"))
		}
		if !strings.Contains(errOut, "error: ") {
			t.Errorf("%v: stderr lacks the error: %q", c.args, errOut)
		}
	}
	data, _ := os.ReadFile(logFile)
	if strings.Contains(string(data), password) {
		t.Errorf("the log shows the password:\n%s", data)
	}

	t.Run("log_format json", func(t *testing.T) {
		jsonLog := filepath.Join(dir, "log", "json.log")
		_, errOut, code := run(t, bin, "-c", conf, "--param", "log_file="+jsonLog, "--param", "log_format=json", "--param", "admin_password="+password, "-t")
		if code != exitCheck {
			t.Fatalf("-t: exit %d\n%s", code, errOut)
		}
		lines := logLines(t, jsonLog)
		if len(lines) < 3 {
			t.Fatalf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
		}
		ids := map[string]bool{}
		var errors int
		for _, l := range lines {
			var o struct {
				Time, Level, Program, JobID, Command, Msg string
				PID                                       int
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(l), &raw); err != nil {
				t.Fatalf("not one JSON object per line: %q: %v", l, err)
			}
			for k := range raw {
				if !snakeKey.MatchString(k) {
					t.Errorf("key %q is not snake_case", k)
				}
			}
			json.Unmarshal([]byte(l), &o)
			o.JobID, _ = raw["job_id"].(string)
			ids[o.JobID] = true
			if o.Command != "test" || o.Program != "rb_module_rustack" || o.PID == 0 || o.Time == "" {
				t.Errorf("line %q", l)
			}
			if o.Level == "ERROR" {
				errors++
				if !strings.HasPrefix(o.Msg, "test failed (exit 3): ") {
					t.Errorf("ERROR line %q", l)
				}
			}
		}
		if len(ids) != 1 || ids[""] || errors != 1 {
			t.Errorf("job ids %v, %d ERROR lines:\n%s", ids, errors, strings.Join(lines, "\n"))
		}
		if data, _ := os.ReadFile(jsonLog); strings.Contains(string(data), password) {
			t.Errorf("the JSON log shows the password")
		}
	})

	t.Run("-t checks log_format", func(t *testing.T) {
		out, _, code := run(t, bin, "-c", conf, "--param", "log_format=xml", "-t")
		if code != exitCheck || !regexp.MustCompile(`FAIL +configuration: rule parameter "log_format": "xml" is not`).MatchString(out) {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}

// TestConfigErrorLogged: a configuration that does not parse is logged as
// ERROR in the log_file it names (read line by line), in its log_format,
// and its password stays out of the log.
func TestConfigErrorLogged(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	const password = "Pa55-w0rd#bad-conf"
	logFile := filepath.Join(dir, "RuBackup.log")
	conf := filepath.Join(dir, "bad.conf")
	text := "url http://127.0.0.1:1/v3\npassword " + password + "\nlog_file " + logFile + "\nlog_format json\ntimeout 0\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-t"}, {"backup", "--vm", "x"}, {"list", "--param", "admin_password=" + password + "-2"}} {
		_, errOut, code := run(t, bin, append([]string{"-c", conf}, args...)...)
		if code != exitUsage && code != exitCheck {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
	lines := logLines(t, logFile)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one ERROR per failed command:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, job := range []string{"test", "backup", "list"} {
		var o map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &o); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		msg, _ := o["msg"].(string)
		if o["level"] != "ERROR" || o["command"] != job || !strings.HasPrefix(msg, job+" failed (exit ") || !strings.Contains(msg, `"timeout"`) {
			t.Errorf("line %d: %q", i, lines[i])
		}
	}
	if data, _ := os.ReadFile(logFile); strings.Contains(string(data), password) {
		t.Errorf("the log shows a password:\n%s", data)
	}
}
