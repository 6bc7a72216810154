package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/units"
)

// refresh is how often the line is redrawn at most (the last update of a
// job is always drawn).
const refresh = 200 * time.Millisecond

// Line is one updating line on a terminal. Its methods must not be called
// concurrently (callers serialize their events).
type Line struct {
	w     io.Writer
	verb  string // "writing"
	noun  string // what the items are: "disk(s)"
	on    bool
	last  time.Time
	open  bool // a \r line is showing
	start time.Time
	done  map[string]int64 // per item (disk) being worked on
	total map[string]int64
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Mode says when a line draws.
type Mode int

// The modes (a --progress auto|always|never flag maps onto them).
const (
	Auto   Mode = iota // only when the writer is a terminal
	Always             // always (tests; a terminal the check does not see)
	Never              // never
)

// NewLine returns a line on w; verb says what is done to the bytes
// ("writing").
func NewLine(w io.Writer, verb string, mode Mode) *Line {
	on := mode == Always || (mode == Auto && IsTerminal(w))
	return &Line{w: w, verb: verb, noun: "disk(s)", on: on, done: map[string]int64{}, total: map[string]int64{}}
}

// SetNoun names the items the line counts ("disk(s)" unless set).
func (p *Line) SetNoun(noun string) { p.noun = noun }

// On reports whether the line draws anything.
func (p *Line) On() bool { return p.on }

// Message ends the line being drawn and prints msg on a line of its own.
func (p *Line) Message(msg string) {
	if !p.on {
		return
	}
	p.Finish()
	fmt.Fprintf(p.w, "%s\n", msg)
}

// Update records that item has done of total bytes and redraws the line
// with the sums over every item.
func (p *Line) Update(item string, done, total int64) {
	if !p.on {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.done[item], p.total[item] = done, total
	var sumDone, sumTotal int64
	for d, n := range p.done {
		sumDone, sumTotal = sumDone+n, sumTotal+p.total[d]
	}
	now := time.Now()
	if sumDone < sumTotal && now.Sub(p.last) < refresh {
		return
	}
	p.last = now
	rate := 0.0
	if s := now.Sub(p.start).Seconds(); s > 0 {
		rate = float64(sumDone) / 1e6 / s
	}
	pct := 100.0
	if sumTotal > 0 {
		pct = 100 * float64(sumDone) / float64(sumTotal)
	}
	fmt.Fprintf(p.w, "\r\033[K%s %d %s: %s / %s (%.0f%%, %.0f MB/s)", p.verb, len(p.done), p.noun,
		units.FormatBytes(sumDone), units.FormatBytes(sumTotal), pct, rate)
	p.open = true
}

// Finish ends the line being drawn, if any.
func (p *Line) Finish() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
