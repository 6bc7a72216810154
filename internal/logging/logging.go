package logging

import (
	"fmt"
	"io"
)

// Logger writes timestamped lines to the log file and short messages to stderr.
// SKELETON: replaced by the real implementation.
type Logger struct{ stderr io.Writer }

// Open appends to the log file at path (created 0600, parents 0700).
// secrets are redacted from every line written.
func Open(path string, stderr io.Writer, secrets ...string) (*Logger, error) {
	return &Logger{stderr: stderr}, nil
}

// Discard is a logger that writes nowhere (tests).
func Discard() *Logger { return &Logger{stderr: io.Discard} }

// Debugf logs to the file only.
func (l *Logger) Debugf(format string, args ...any) {}

// Infof logs to the file only.
func (l *Logger) Infof(format string, args ...any) {}

// Warnf logs to the file and prints to stderr.
func (l *Logger) Warnf(format string, args ...any) { fmt.Fprintf(l.stderr, "warning: "+format+"\n", args...) }

// Errorf logs to the file and prints to stderr.
func (l *Logger) Errorf(format string, args ...any) { fmt.Fprintf(l.stderr, "error: "+format+"\n", args...) }

// AddSecret makes later lines redact s too.
func (l *Logger) AddSecret(s string) {}

// Close flushes and closes the log file.
func (l *Logger) Close() error { return nil }
