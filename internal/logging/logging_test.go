package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const pw = "hunter2-Sup3r\"secret"

func TestOpenCreatesFileAndFolders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "rb.log")
	var stderr bytes.Buffer
	l, err := Open(path, &stderr, pw)
	if err != nil {
		t.Fatal(err)
	}
	l.Infof("hello %d", 42)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
	for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("folder %s mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	data, _ := os.ReadFile(path)
	re := regexp.MustCompile(fmt.Sprintf(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO rb_module_rustack\[%d\]: hello 42\n$`, os.Getpid()))
	if !re.Match(data) {
		t.Errorf("log line %q does not match %s", data, re)
	}
	if stderr.Len() != 0 {
		t.Errorf("Infof wrote to stderr: %q", stderr.String())
	}
}

func TestAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Warnf("second")
	l.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "earlier line" || !strings.HasSuffix(lines[1], ": second") {
		t.Errorf("file = %q", data)
	}
	// An existing file keeps its mode (it may be the platform's own log).
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("existing file mode changed to %v", st.Mode().Perm())
	}
}

func TestFormatLevelsAndStderr(t *testing.T) {
	var file, stderr bytes.Buffer
	l := New(&file, &stderr)
	l.now = func() time.Time { return time.Date(2026, 11, 22, 13, 0, 0, 0, time.FixedZone("MSK", 3*3600)) }
	l.pid = 4242
	l.Debugf("d")
	l.Infof("i")
	l.Warnf("w %s", "x")
	l.Errorf("e\nsecond line")
	want := "2026-11-22T10:00:00Z DEBUG rb_module_rustack[4242]: d\n" +
		"2026-11-22T10:00:00Z INFO rb_module_rustack[4242]: i\n" +
		"2026-11-22T10:00:00Z WARN rb_module_rustack[4242]: w x\n" +
		"2026-11-22T10:00:00Z ERROR rb_module_rustack[4242]: e\n" +
		"2026-11-22T10:00:00Z ERROR rb_module_rustack[4242]: second line\n"
	if file.String() != want {
		t.Errorf("file:\n%s\nwant:\n%s", file.String(), want)
	}
	if stderr.String() != "warning: w x\nerror: e\nsecond line\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestRedaction(t *testing.T) {
	var file, stderr bytes.Buffer
	l := New(&file, &stderr, pw, "", "adminpass-XYZ")
	l.AddSecret("late-secret-123")
	l.Infof("auth with %s", pw)
	l.Errorf("admin %s and late %s", "adminpass-XYZ", "late-secret-123")
	l.Debugf(`request body {"auth": {"identity": {"password": {"user": {"name": "u", "password": "unknown-to-logger\"x"}}}}}`)
	l.Debugf(`json-escaped registered secret: {"password": %q}`, pw)
	l.Debugf(`{"admin_password":"abc","Secret" : "zzz-unregistered", "name": "keep-me"}`)
	l.Debugf("X-Auth-Token: gAAAAAtokenvalue1\nx-subject-token=gAAAAAtokenvalue2")
	l.Debugf("headers map[X-Auth-Token:[gAAAAAtokenvalue3] Content-Type:[application/json]]")
	l.Debugf(`{"X-Subject-Token": "gAAAAAtokenvalue4"}`)
	all := file.String() + stderr.String()
	for _, leak := range []string{pw, "hunter2", "adminpass-XYZ", "late-secret-123", "unknown-to-logger", "abc", "zzz-unregistered", "gAAAAA"} {
		if strings.Contains(all, leak) {
			t.Errorf("output contains %q:\n%s", leak, all)
		}
	}
	for _, keep := range []string{"keep-me", `"name": "u"`, "Content-Type:[application/json]", "auth with ***", `"password": "***"`, "X-Auth-Token: ***"} {
		if !strings.Contains(all, keep) {
			t.Errorf("output lost %q:\n%s", keep, all)
		}
	}
}

func TestRedactMethod(t *testing.T) {
	l := New(nil, nil, "p4ss")
	if got := l.Redact("a p4ss b"); got != "a *** b" {
		t.Errorf("Redact = %q", got)
	}
	var nilLogger *Logger
	if got := nilLogger.Redact(`{"password":"x"}`); got != `{"password":"***"}` {
		t.Errorf("nil Redact = %q", got)
	}
	nilLogger.Infof("no panic")
	nilLogger.AddSecret("x")
	if err := nilLogger.Close(); err != nil {
		t.Error(err)
	}
	// Overlapping secrets: the longer is masked whole.
	l = New(nil, nil, "abc", "abcdef")
	if got := l.Redact("xabcdefx abc"); got != "x***x ***" {
		t.Errorf("overlap = %q", got)
	}
	// A secret that reappears next to a mask withholds the message.
	l = New(nil, nil, "a*")
	if got := l.Redact("aa*"); strings.Contains(got, "a*") {
		t.Errorf("secret survived: %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "sub", "rb.log") // parent is a regular file
	_, err := Open(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "log_file") {
		t.Errorf("error = %v", err)
	}
	_, err = Open(dir, nil) // a directory
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("error = %v", err)
	}
	if _, err := Open("", nil); err == nil {
		t.Error("empty path accepted")
	}
}

func TestCloseStopsFileKeepsStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.log")
	var stderr bytes.Buffer
	l, err := Open(path, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l.Errorf("after close")
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Errorf("wrote after Close: %q", data)
	}
	if stderr.String() != "error: after close\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.log")
	l, err := Open(path, nil, "s3cret-value")
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				l.Infof("worker %d line %d s3cret-value %s", w, i, strings.Repeat("x", 100))
				if i%50 == 0 {
					l.AddSecret(fmt.Sprintf("extra-%d-%d", w, i))
					_ = l.Redact("extra")
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != workers*each {
		t.Fatalf("%d lines, want %d", len(lines), workers*each)
	}
	line := regexp.MustCompile(`^\S+Z INFO rb_module_rustack\[\d+\]: worker \d line \d+ \*\*\* x{100}$`)
	for _, ln := range lines {
		if !line.MatchString(ln) {
			t.Fatalf("interleaved or unredacted line %q", ln)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("secret", "before secret after")
	f.Add("a*", "aa**")
	f.Add("x", `{"password": "x"}`)
	f.Add("tok", "X-Auth-Token: tok\n")
	f.Fuzz(func(t *testing.T, secret, text string) {
		l := New(nil, nil, secret)
		out := l.Redact(text + secret + text)
		if secret != "" && strings.Contains(out, secret) && out != Withheld {
			t.Fatalf("secret %q survives in %q", secret, out)
		}
		if again := l.Redact(out); again != out && out != Withheld {
			t.Fatalf("Redact is not idempotent: %q -> %q", out, again)
		}
		// A JSON log line never shows the secret either, raw or escaped.
		var file bytes.Buffer
		j := New(&file, nil, secret)
		_ = j.SetFormat(FormatJSON)
		j.Infof("%s", text+secret+text)
		var line map[string]any
		if err := json.Unmarshal(file.Bytes(), &line); err != nil {
			t.Fatalf("JSON line %q: %v", file.String(), err)
		}
		if msg, _ := line["msg"].(string); secret != "" && strings.Contains(msg, secret) && msg != Withheld {
			t.Fatalf("secret %q survives in the JSON line %q", secret, file.String())
		}
	})
}

func TestJobIDOnEveryLine(t *testing.T) {
	var file bytes.Buffer
	l := New(&file, nil)
	l.now = func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }
	l.pid = 7
	l.SetJob("k3j4h5g6f7", "backup")
	l.Infof("one")
	l.Errorf("two\nthree")
	want := "2026-11-22T10:00:00Z INFO rb_module_rustack[7]: job=k3j4h5g6f7 one\n" +
		"2026-11-22T10:00:00Z ERROR rb_module_rustack[7]: job=k3j4h5g6f7 two\n" +
		"2026-11-22T10:00:00Z ERROR rb_module_rustack[7]: job=k3j4h5g6f7 three\n"
	if file.String() != want {
		t.Errorf("file:\n%s\nwant:\n%s", file.String(), want)
	}
}

func TestJSONFormat(t *testing.T) {
	var file, stderr bytes.Buffer
	l := New(&file, &stderr, pw)
	l.now = func() time.Time { return time.Date(2026, 11, 22, 13, 0, 0, 5e6, time.FixedZone("MSK", 3*3600)) }
	l.pid = 42
	if err := l.SetFormat("xml"); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("SetFormat(xml) = %v", err)
	}
	if err := l.SetFormat(FormatJSON); err != nil {
		t.Fatal(err)
	}
	l.SetJob("abc123defg", "verify")
	l.Infof("plain")
	l.Errorf("verify failed: password %s\nsecond \"line\"", pw)
	l.Debugf(`body {"password": "unregistered"}`)
	lines := strings.Split(strings.TrimSuffix(file.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per message:\n%s", len(lines), file.String())
	}
	var got []jsonLine
	for _, ln := range lines {
		var j map[string]any
		if err := json.Unmarshal([]byte(ln), &j); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", ln, err)
		}
		for k := range j {
			if k != strings.ToLower(k) {
				t.Errorf("key %q is not snake_case", k)
			}
		}
		var jl jsonLine
		json.Unmarshal([]byte(ln), &jl)
		got = append(got, jl)
	}
	want0 := jsonLine{Time: "2026-11-22T10:00:00.005Z", Level: "INFO", Program: Program, PID: 42, JobID: "abc123defg", Command: "verify", Msg: "plain"}
	if got[0] != want0 {
		t.Errorf("line 1 = %+v, want %+v", got[0], want0)
	}
	if got[1].Level != "ERROR" || got[1].Msg != "verify failed: password ***\nsecond \"line\"" {
		t.Errorf("line 2 = %+v", got[1])
	}
	all := file.String() + stderr.String()
	for _, leak := range []string{"hunter2", "unregistered"} {
		if strings.Contains(all, leak) {
			t.Errorf("%q leaked:\n%s", leak, all)
		}
	}
	if stderr.String() != "error: verify failed: password ***\nsecond \"line\"\n" {
		t.Errorf("stderr stays plain text, got %q", stderr.String())
	}
}
