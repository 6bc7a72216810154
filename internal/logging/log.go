package logging

// Log is the one logging interface of the module: the leveled printf
// methods of *Logger. Packages that log take a Log, so that a caller can
// pass a *Logger, a wrapper of one, or a test recorder. Debug and info
// lines go to the log file only; warnings and errors also reach stderr.
// Discard() (or a nil *Logger) is the Log that writes nowhere.
type Log interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

var _ Log = (*Logger)(nil)
