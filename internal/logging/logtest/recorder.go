package logtest

import (
	"fmt"
	"strings"
	"sync"

	"rb_module_rustack/internal/logging"
)

// Recorder collects log lines as "LEVEL message" (DEBUG, INFO, WARN,
// ERROR). It is safe for concurrent use; the zero value is ready.
type Recorder struct {
	mu    sync.Mutex
	lines []string
}

var _ logging.Log = (*Recorder)(nil)

func (r *Recorder) add(level, f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, level+" "+fmt.Sprintf(f, a...))
}

// Debugf records a DEBUG line.
func (r *Recorder) Debugf(f string, a ...any) { r.add("DEBUG", f, a...) }

// Infof records an INFO line.
func (r *Recorder) Infof(f string, a ...any) { r.add("INFO", f, a...) }

// Warnf records a WARN line.
func (r *Recorder) Warnf(f string, a ...any) { r.add("WARN", f, a...) }

// Errorf records an ERROR line.
func (r *Recorder) Errorf(f string, a ...any) { r.add("ERROR", f, a...) }

// String is every line recorded so far, one a line.
func (r *Recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// Count is the number of lines of level that contain substr.
func (r *Recorder) Count(level, substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.lines {
		if strings.HasPrefix(s, level+" ") && strings.Contains(s, substr) {
			n++
		}
	}
	return n
}
