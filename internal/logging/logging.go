package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Program is the name written in every log line.
const Program = "rb_module_rustack"

// Mask replaces every secret in a log line or message.
const Mask = "***"

// Level is the severity of a log line.
type Level int

// Levels, lowest first.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return fmt.Sprintf("LEVEL%d", int(l))
}

// Logger writes timestamped lines to the log file and short messages to
// stderr, redacting secrets from both. It is safe for concurrent use. A nil
// *Logger discards everything.
type Logger struct {
	mu      sync.Mutex
	file    io.Writer // nil after Close or for Discard
	closer  io.Closer // the file, when Open opened it
	stderr  io.Writer
	secrets []string // longest first
	pid     int
	now     func() time.Time
	job     string // job id written in every line; "" = none
	command string // the command the job runs (JSON lines only)
	json    bool   // one JSON object per line (log_format json)
}

// Log formats (the log_format key).
const (
	FormatText = "text" // time LEVEL program[pid]: job=ID message
	FormatJSON = "json" // one JSON object per line, for log shippers
)

// Formats lists the log formats, default first.
func Formats() []string { return []string{FormatText, FormatJSON} }

// SetJob makes every later line carry the job id (and, in JSON lines, the
// command the job runs).
func (l *Logger) SetJob(id, command string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.job, l.command = id, command
}

// SetFormat chooses how lines are written: FormatText (the default) or
// FormatJSON.
func (l *Logger) SetFormat(format string) error {
	if l == nil {
		return nil
	}
	switch format {
	case "", FormatText, FormatJSON:
	default:
		return fmt.Errorf("log format %q: want %s", format, strings.Join(Formats(), " or "))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.json = format == FormatJSON
	return nil
}

// jsonLine is one line of the JSON log format.
type jsonLine struct {
	Time    string `json:"time"`
	Level   string `json:"level"`
	Program string `json:"program"`
	PID     int    `json:"pid"`
	JobID   string `json:"job_id,omitempty"`
	Command string `json:"command,omitempty"`
	Msg     string `json:"msg"`
}

// Open appends to the log file at path (created 0600, missing parent folders
// 0700). secrets are redacted from every line written.
func Open(path string, stderr io.Writer, secrets ...string) (*Logger, error) {
	if path == "" {
		return nil, errors.New("log file: no path configured (set log_file in the configuration)")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("log file %s: cannot create its folder: %w (set log_file in the configuration to a writable path)", path, unwrapPath(err))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file %s: cannot open it for appending: %w (set log_file in the configuration to a writable path)", path, unwrapPath(err))
	}
	l := New(f, stderr, secrets...)
	l.closer = f
	return l, nil
}

// New writes log lines to w (tests, or a caller that owns the file) and
// short messages to stderr. Either may be nil.
func New(w io.Writer, stderr io.Writer, secrets ...string) *Logger {
	if stderr == nil {
		stderr = io.Discard
	}
	l := &Logger{file: w, stderr: stderr, pid: os.Getpid(), now: time.Now}
	for _, s := range secrets {
		l.AddSecret(s)
	}
	return l
}

// Discard is a logger that writes nowhere (tests).
func Discard() *Logger { return New(nil, io.Discard) }

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Debugf logs to the file only.
func (l *Logger) Debugf(format string, args ...any) { l.log(LevelDebug, format, args...) }

// Infof logs to the file only.
func (l *Logger) Infof(format string, args ...any) { l.log(LevelInfo, format, args...) }

// Warnf logs to the file and prints "warning: msg" to stderr.
func (l *Logger) Warnf(format string, args ...any) { l.log(LevelWarn, format, args...) }

// Errorf logs to the file and prints "error: msg" to stderr.
func (l *Logger) Errorf(format string, args ...any) { l.log(LevelError, format, args...) }

func (l *Logger) log(level Level, format string, args ...any) {
	if l == nil {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	msg = l.redactLocked(msg)
	if l.file != nil {
		// One write per message, so lines of concurrent writers (other
		// processes appending to the same file too) do not interleave.
		_, _ = io.WriteString(l.file, l.formatLocked(level, msg))
	}
	switch level {
	case LevelWarn:
		fmt.Fprintf(l.stderr, "warning: %s\n", msg)
	case LevelError:
		fmt.Fprintf(l.stderr, "error: %s\n", msg)
	}
}

// formatLocked renders a redacted message as the file's line(s).
func (l *Logger) formatLocked(level Level, msg string) string {
	now := l.now().UTC()
	if l.json {
		b, err := json.Marshal(jsonLine{Time: now.Format("2006-01-02T15:04:05.000Z07:00"), Level: level.String(),
			Program: Program, PID: l.pid, JobID: l.job, Command: l.command, Msg: msg})
		if err != nil {
			return ""
		}
		line := string(b)
		// Escaping can turn harmless text into the escaped form of a
		// secret; then the message is withheld.
		for _, sec := range l.secrets {
			if strings.Contains(line, sec) {
				b, _ = json.Marshal(jsonLine{Time: now.Format("2006-01-02T15:04:05.000Z07:00"), Level: level.String(),
					Program: Program, PID: l.pid, JobID: l.job, Command: l.command, Msg: Withheld})
				line = string(b)
				break
			}
		}
		return line + "\n"
	}
	prefix := fmt.Sprintf("%s %s %s[%d]: ", now.Format(time.RFC3339), level, Program, l.pid)
	if l.job != "" {
		prefix += "job=" + l.job + " "
	}
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		b.WriteString(prefix)
		b.WriteString(strings.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	return b.String()
}

// AddSecret makes later lines redact s too (and its JSON-escaped form).
// Empty strings are ignored.
func (l *Logger) AddSecret(s string) {
	if l == nil || s == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	forms := []string{s}
	if b, err := json.Marshal(s); err == nil {
		if esc := string(b[1 : len(b)-1]); esc != s {
			forms = append(forms, esc)
		}
	}
	for _, f := range forms {
		dup := false
		for _, have := range l.secrets {
			if have == f {
				dup = true
			}
		}
		if !dup {
			l.secrets = append(l.secrets, f)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.SliceStable(l.secrets, func(i, j int) bool { return len(l.secrets[i]) > len(l.secrets[j]) })
}

// Redact returns s with every registered secret, every JSON "…password…"
// or "…secret…" string value and every X-Auth-Token / X-Subject-Token header
// value replaced by ***.
func (l *Logger) Redact(s string) string {
	if l == nil {
		return RedactPatterns(s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.redactLocked(s)
}

func (l *Logger) redactLocked(s string) string {
	for _, sec := range l.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	s = RedactPatterns(s)
	// A secret made of or ending in '*' can reappear next to a mask; then
	// the whole message is withheld rather than risk showing it.
	for _, sec := range l.secrets {
		if strings.Contains(s, sec) {
			return Withheld
		}
	}
	return s
}

// Withheld replaces a message that still showed a secret after masking.
const Withheld = "[message withheld: it contained a secret]"

// Patterns that hide secrets whose values the logger was not told about.
var (
	// "password": "...", "admin_password":"...", "secret": "..." in JSON.
	jsonSecretRE = regexp.MustCompile(`(?i)("[^"\\]*(?:password|secret)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// X-Auth-Token: abc, X-Subject-Token=abc, "X-Auth-Token": "abc", X-Auth-Token:[abc]
	tokenHeaderRE = regexp.MustCompile(`(?i)(x-(?:auth|subject)-token"?\s*[:=]\s*\[?"?)[^\s"\],]+`)
)

// RedactPatterns hides secret-looking JSON values and token headers in s;
// it is what Redact does besides masking registered secrets.
func RedactPatterns(s string) string {
	lower := strings.ToLower(s)
	if strings.Contains(lower, "password") || strings.Contains(lower, "secret") {
		s = jsonSecretRE.ReplaceAllString(s, `${1}"`+Mask+`"`)
	}
	if strings.Contains(lower, "-token") {
		s = tokenHeaderRE.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// Close flushes and closes the log file; later lines go to stderr only (for
// warnings and errors) or nowhere.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.file = nil
	if l.closer == nil {
		return nil
	}
	c := l.closer
	l.closer = nil
	return c.Close()
}
