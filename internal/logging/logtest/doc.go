// Package logtest is a logging.Log that keeps its lines in memory, for the
// tests of the packages that log. It owns nothing but that recorder; it
// must not know the log file's format, redaction or any caller.
package logtest
