package retention

import (
	"strconv"
	"time"
)

// periodKey identifies an hour, day, ISO week, month or year on the wall
// clock of a location; fields a period does not use are zero.
type periodKey struct{ a, b, c, d int }

// periodRule is one of the counted period rules.
type periodRule struct {
	name  string
	count func(Policy) int
	key   func(time.Time) periodKey // t is already in the location
}

// periodRules are the rules that keep the newest item of a period, in rule
// order. An ISO week belongs to its ISO year: 30 December 2024 is in week 1
// of 2025.
var periodRules = []periodRule{
	{"hourly", func(p Policy) int { return p.Hourly }, func(t time.Time) periodKey {
		return periodKey{t.Year(), int(t.Month()), t.Day(), t.Hour()}
	}},
	{"daily", func(p Policy) int { return p.Daily }, func(t time.Time) periodKey {
		return periodKey{t.Year(), int(t.Month()), t.Day(), 0}
	}},
	{"weekly", func(p Policy) int { return p.Weekly }, func(t time.Time) periodKey {
		y, w := t.ISOWeek()
		return periodKey{y, w, 0, 0}
	}},
	{"monthly", func(p Policy) int { return p.Monthly }, func(t time.Time) periodKey {
		return periodKey{t.Year(), int(t.Month()), 0, 0}
	}},
	{"yearly", func(p Policy) int { return p.Yearly }, func(t time.Time) periodKey {
		return periodKey{t.Year(), 0, 0, 0}
	}},
}

// applyRules runs the keep rules over one group's items, newest first, and
// appends the reasons to reasons[i] for the i-th item of the list.
func applyRules(p Policy, list []Item, loc *time.Location, reasons [][]string) {
	if len(list) == 0 {
		return
	}
	for i := 0; i < len(list) && i < p.Last; i++ {
		reasons[i] = append(reasons[i], "last "+strconv.Itoa(i+1))
	}
	for _, r := range periodRules {
		n := r.count(p)
		var last periodKey
		k := 0
		for i := 0; i < len(list) && k < n; i++ {
			key := r.key(list[i].Time.In(loc))
			if k > 0 && key == last {
				continue
			}
			k++
			last = key
			reasons[i] = append(reasons[i], r.name+" "+strconv.Itoa(k))
		}
	}
	if !p.Within.IsZero() {
		cutoff := p.Within.Before(list[0].Time.In(loc))
		reason := "within " + p.Within.String()
		for i := range list {
			if list[i].Time.Before(cutoff) {
				break // the list is sorted: all the rest are older
			}
			reasons[i] = append(reasons[i], reason)
		}
	}
}
