package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/units"
)

// Refresh is how often the bars are redrawn.
const Refresh = 200 * time.Millisecond

// IsTerminal reports whether w is a terminal (a *Console on one counts).
func IsTerminal(w io.Writer) bool {
	if c, ok := w.(*Console); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Mode says when bars are drawn.
type Mode int

// The modes (--progress auto|always|never).
const (
	Auto   Mode = iota // only when the writer is a terminal
	Always             // always (a terminal the check does not see)
	Never              // never
)

// ParseMode reads a --progress value.
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "auto", "":
		return Auto, true
	case "always":
		return Always, true
	case "never":
		return Never, true
	}
	return Auto, false
}

// Console is the process's stderr. While bars are drawn on it, every
// write (log warnings, notes, errors) goes through the bars' container,
// which prints it above the bars, so that text and bars never interleave;
// otherwise it writes straight through. It is safe for concurrent use.
type Console struct {
	w    io.Writer
	mu   sync.Mutex
	bars *mpb.Progress // non-nil while bars are drawn
}

// NewConsole wraps w (os.Stderr).
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

// Write implements io.Writer.
func (c *Console) Write(b []byte) (int, error) {
	c.mu.Lock()
	p := c.bars
	c.mu.Unlock()
	if p != nil {
		if n, err := p.Write(b); err == nil {
			return n, nil
		}
	}
	return c.w.Write(b)
}

func (c *Console) attach(p *mpb.Progress) {
	c.mu.Lock()
	c.bars = p
	c.mu.Unlock()
}

// Bars draws one bar per item (a disk being read or written, or "packs")
// with its bytes done of total, MB/s and ETA, plus a total bar when there
// is more than one item; nothing at all when it is off. Update may be
// called concurrently.
type Bars struct {
	out  io.Writer // where bars go (the terminal under a Console)
	con  *Console  // nil when out is not a Console
	verb string    // "reading", "writing", "verifying", "pruning"
	on   bool

	refresh time.Duration // Refresh (tests set it longer)

	mu         sync.Mutex
	p          *mpb.Progress // started at the first Update
	redraw     chan any      // asks p for a frame (a tick, or the first bar)
	stop       chan struct{} // ends the ticks
	items      map[string]*item
	total      *mpb.Bar
	totalClock *clock
	done       bool
}

type item struct {
	bar         *mpb.Bar
	done, total int64
	clock       *clock
}

// clock times one bar for its rate and ETA: the render goroutine reads it
// while Update writes it.
type clock struct {
	start time.Time    // set before the bar exists
	end   atomic.Int64 // unix nanoseconds when the bar completed, 0 before
}

// rate is bytes per second of current bytes done since the start.
func (c *clock) rate(current int64) float64 {
	end := time.Now()
	if e := c.end.Load(); e != 0 {
		end = time.Unix(0, e)
	}
	sec := end.Sub(c.start).Seconds()
	if sec <= 0 {
		return 0
	}
	return float64(current) / sec
}

// New returns bars on w (a *Console, so that other output goes above
// them, or a plain writer); verb says what is done to the bytes.
func New(w io.Writer, verb string, mode Mode) *Bars {
	b := &Bars{out: w, verb: verb, items: map[string]*item{}, refresh: Refresh}
	if c, ok := w.(*Console); ok {
		b.con, b.out = c, c.w
	}
	b.on = mode == Always || (mode == Auto && IsTerminal(w))
	return b
}

// On reports whether the bars draw anything.
func (b *Bars) On() bool { return b != nil && b.on }

// Message prints msg on a line of its own, above the bars while they are
// drawn (nothing when the bars are off).
func (b *Bars) Message(msg string) {
	if !b.On() {
		return
	}
	b.mu.Lock()
	p := b.p
	b.mu.Unlock()
	if p != nil {
		if _, err := p.Write([]byte(msg + "\n")); err == nil {
			return
		}
	}
	_, _ = io.WriteString(b.out, msg+"\n")
}

// Update records that item has done of total bytes.
func (b *Bars) Update(name string, done, total int64) {
	if !b.On() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	if b.p == nil {
		// Frames are asked for here (manual refresh), not by mpb's own
		// ticker, whose first frame comes a Refresh after the start: the
		// first bar is drawn at once, and a job shorter than Refresh still
		// shows its bars and then redraws them finished. The width is for
		// where the terminal's is unknown.
		b.redraw, b.stop = make(chan any, 1), make(chan struct{})
		b.p = mpb.New(mpb.WithOutput(b.out), mpb.WithManualRefresh(b.redraw), mpb.WithWidth(110))
		go tick(b.redraw, b.stop, b.refresh)
		if b.con != nil {
			b.con.attach(b.p)
		}
	}
	it := b.items[name]
	if it == nil {
		it = &item{clock: &clock{start: time.Now()}}
		b.items[name] = it
		it.bar = b.addBar(name, total, len(b.items), it.clock)
		if len(b.items) == 1 {
			ask(b.redraw)
		}
		if len(b.items) == 2 && b.total == nil {
			// A second item: from now on a total bar below them, timed
			// from the first item's start.
			var first *clock
			for _, x := range b.items {
				if first == nil || x.clock.start.Before(first.start) {
					first = x.clock
				}
			}
			b.totalClock = &clock{start: first.start}
			b.total = b.addBar("total", 0, 1<<20, b.totalClock)
		}
	}
	if total != it.total {
		it.total = total
		it.bar.SetTotal(total, false)
	}
	if done > it.done {
		it.done = done
		it.bar.SetCurrent(done)
	}
	if it.done >= it.total && !it.bar.Completed() {
		it.clock.end.CompareAndSwap(0, time.Now().UnixNano())
		it.bar.SetTotal(it.total, true)
	}
	if b.total != nil {
		var sd, st int64
		for _, x := range b.items {
			sd, st = sd+x.done, st+x.total
		}
		b.total.SetTotal(st, false)
		b.total.SetCurrent(sd)
	}
}

func (b *Bars) addBar(name string, total int64, priority int, c *clock) *mpb.Bar {
	label := b.verb + " " + shorten(name)
	if name == "total" {
		label = "total"
	}
	return b.p.AddBar(total,
		mpb.BarPriority(priority),
		mpb.PrependDecorators(
			decor.Name(label, decor.WCSyncSpaceR),
			decor.Any(func(s decor.Statistics) string {
				return units.FormatBytes(s.Current) + " / " + units.FormatBytes(s.Total)
			}, decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WC{W: 5}),
			decor.Any(func(s decor.Statistics) string {
				return fmt.Sprintf("%4.0f MB/s", c.rate(s.Current)/1e6)
			}, decor.WCSyncSpace),
			decor.Any(func(s decor.Statistics) string { return eta(s, c) }, decor.WCSyncSpace),
		),
	)
}

// maxName is the longest item name shown whole; longer ones (volume ids)
// are cut, so that the bars keep room on an 80-column terminal.
const maxName = 14

func shorten(name string) string {
	r := []rune(name)
	if len(r) <= maxName {
		return name
	}
	return string(r[:maxName-1]) + "…"
}

// eta is "ETA m:ss" while a bar runs, "done" or "stopped" after.
func eta(s decor.Statistics, c *clock) string {
	switch {
	case s.Completed:
		return "done"
	case s.Aborted:
		return "stopped"
	}
	r := c.rate(s.Current)
	if r <= 0 || s.Total <= 0 {
		return "ETA  -:--"
	}
	left := time.Duration(float64(s.Total-s.Current) / r * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("ETA %2d:%02d", int(left.Minutes()), int(left.Seconds())%60)
}

// Finish completes the bars (items short of their total are shown as
// stopped where they are) and waits until they are drawn for the last
// time; output goes straight to the terminal again.
func (b *Bars) Finish() {
	if !b.On() {
		return
	}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	p := b.p
	b.done = true
	names := make([]string, 0, len(b.items))
	for n := range b.items {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if it := b.items[n]; !it.bar.Completed() {
			it.bar.Abort(false)
		}
	}
	if b.total != nil && !b.total.Completed() {
		var sd, st int64
		for _, x := range b.items {
			sd, st = sd+x.done, st+x.total
		}
		if sd >= st {
			b.totalClock.end.CompareAndSwap(0, time.Now().UnixNano())
			b.total.SetTotal(st, true)
		} else {
			b.total.Abort(false)
		}
	}
	b.mu.Unlock()
	if p == nil {
		return
	}
	p.Wait()
	close(b.stop)
	if b.con != nil {
		b.con.attach(nil)
	}
}

// tick asks for a frame every interval until stop is closed.
func tick(redraw chan<- any, stop <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ask(redraw)
		}
	}
}

// ask asks for a frame unless one is asked for already.
func ask(redraw chan<- any) {
	select {
	case redraw <- time.Now():
	default:
	}
}
