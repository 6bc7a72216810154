package logging

import (
	"fmt"
	"sync"
)

// OnceWarnings passes a log's lines through but writes each distinct
// warning once; repeats go to the debug level. Several cloud sessions of
// one run warn alike (about TLS, say), and one line says it.
type OnceWarnings struct {
	Log
	mu   sync.Mutex
	seen map[string]bool
}

// Warnf implements Log.
func (o *OnceWarnings) Warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	o.mu.Lock()
	dup := o.seen[msg]
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	o.seen[msg] = true
	o.mu.Unlock()
	if dup {
		o.Log.Debugf("%s", msg)
		return
	}
	o.Log.Warnf("%s", msg)
}
