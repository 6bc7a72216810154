package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestOnceWarnings(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, nil)
	o := &OnceWarnings{Log: l}
	o.Warnf("TLS verification is off for %s", "a")
	o.Warnf("TLS verification is off for %s", "a")
	o.Warnf("TLS verification is off for %s", "b")
	o.Infof("info %d", 1)
	out := buf.String()
	if n := strings.Count(out, " WARN "); n != 2 {
		t.Errorf("%d warnings, want 2 (one per distinct message):\n%s", n, out)
	}
	if !strings.Contains(out, "INFO") || !strings.Contains(out, "info 1") || strings.Count(out, "DEBUG") != 1 {
		t.Errorf("the info line not passed through or the repeat not at debug level:\n%s", out)
	}
}
