package progress

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the bars' goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSilentOffTerminal(t *testing.T) {
	for _, mode := range []Mode{Auto, Never} {
		var buf syncBuffer
		c := NewConsole(&buf)
		p := New(c, "reading", mode)
		if p.On() {
			t.Fatalf("mode %d: on, off a terminal", mode)
		}
		p.Message("attaching")
		p.Update("vda", 1, 2)
		p.Finish()
		if buf.String() != "" {
			t.Errorf("mode %d wrote %q off a terminal", mode, buf.String())
		}
		fmt.Fprintf(c, "warning: x\n")
		if buf.String() != "warning: x\n" {
			t.Errorf("the console does not pass text through: %q", buf.String())
		}
	}
	var nilBars *Bars
	nilBars.Update("vda", 1, 1)
	nilBars.Finish()
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"auto": Auto, "always": Always, "never": Never} {
		if m, ok := ParseMode(s); !ok || m != want {
			t.Errorf("ParseMode(%q) = %v %v", s, m, ok)
		}
	}
	if _, ok := ParseMode("sometimes"); ok {
		t.Error("sometimes accepted")
	}
}

// TestBarsPerDiskAndTotal draws two disks written concurrently and a
// message and a log line in between: each disk has its own line with
// bytes, MB/s and the total, and the text lines stand whole above the bars.
func TestBarsPerDiskAndTotal(t *testing.T) {
	var buf syncBuffer
	c := NewConsole(&buf)
	p := New(c, "reading", Always)
	const size = 64 << 20
	var wg sync.WaitGroup
	for _, d := range []string{"vda", "vdb"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := int64(0); done <= size; done += 1 << 20 {
				p.Update(d, done, size)
			}
		}()
	}
	p.Message("snapshot of vdb taken")
	fmt.Fprintf(c, "warning: a log line while bars are drawn\n")
	wg.Wait()
	p.Finish()
	fmt.Fprintf(c, "after\n")
	out := buf.String()
	for _, want := range []string{"reading vda", "reading vdb", "total", "64.00 MiB / 64.00 MiB", "128.00 MiB / 128.00 MiB", "MB/s", "100 %", "done"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range []string{"snapshot of vdb taken", "warning: a log line while bars are drawn"} {
		if !containsLine(out, line) {
			t.Errorf("%q is not a line of its own:\n%q", line, out)
		}
	}
	if !strings.HasSuffix(out, "\nafter\n") {
		t.Errorf("text after Finish does not follow the bars: %q", out[max(0, len(out)-200):])
	}
}

// containsLine reports whether s has line as a whole line (after the
// cursor control sequences that precede it on a terminal).
func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if i := strings.LastIndex(l, "\x1b[J"); i >= 0 {
			l = l[i+3:]
		}
		if l == line || strings.HasSuffix(l, "\r"+line) {
			return true
		}
	}
	return false
}

func TestStoppedShort(t *testing.T) {
	var buf syncBuffer
	p := New(&buf, "writing", Always)
	p.Update("vda", 10<<20, 100<<20)
	p.Finish() // a failed job: the bar stops where it was
	if out := buf.String(); !strings.Contains(out, "10.00 MiB / 100.00 MiB") || strings.Contains(out, "total") {
		t.Errorf("output:\n%s", out)
	}
}

func TestShorten(t *testing.T) {
	for in, want := range map[string]string{"vda": "vda", "12345678901234": "12345678901234",
		"3f0c2b1a-7d9e-4c55-b1aa-0123456789ab": "3f0c2b1a-7d9e…", "диск-номер-один-два": "диск-номер-од…"} {
		if got := shorten(in); got != want {
			t.Errorf("shorten(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestShortJobRedrawn: a job done within one Refresh still draws its bar
// at the start and redraws it finished: the frame that starts it is asked
// for with the first bar, not a Refresh later (here an hour later).
func TestShortJobRedrawn(t *testing.T) {
	var buf syncBuffer
	p := New(&buf, "reading", Always)
	p.refresh = time.Hour
	p.Update("vda", 0, 8<<20)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(buf.String(), "reading vda"); {
		if time.Now().After(deadline) {
			t.Fatal("no frame with the first bar: the bars wait for the first refresh")
		}
		time.Sleep(time.Millisecond)
	}
	p.Update("vda", 8<<20, 8<<20)
	p.Finish()
	out := buf.String()
	if n := strings.Count(out, "reading vda"); n < 2 {
		t.Errorf("the bar was drawn %d time(s), want it drawn and redrawn:\n%q", n, out)
	}
	if !strings.Contains(out, "8.00 MiB / 8.00 MiB") || !strings.Contains(out, "done") {
		t.Errorf("the last frame does not show the bar finished:\n%q", out)
	}
}
