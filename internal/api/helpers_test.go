package api

import (
	"fmt"
	"strings"
	"sync"
)

// memLog collects log lines (tests).
type memLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *memLog) add(level, f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprintf(f, a...))
}
func (l *memLog) Debugf(f string, a ...any) { l.add("DEBUG", f, a...) }
func (l *memLog) Infof(f string, a ...any)  { l.add("INFO", f, a...) }
func (l *memLog) Warnf(f string, a ...any)  { l.add("WARN", f, a...) }
func (l *memLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
func (l *memLog) count(level, substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.HasPrefix(s, level+" ") && strings.Contains(s, substr) {
			n++
		}
	}
	return n
}
