package retention

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxCount is the largest count a keep rule takes (a million daily archives
// is over 2,700 years); more is almost certainly a typo.
const MaxCount = 1000000

// Policy is a set of keep rules. A count of 0 and a zero Within turn a rule
// off. An archive is kept when any rule keeps it.
type Policy struct {
	// Last keeps the Last newest archives.
	Last int
	// Hourly, Daily, Weekly, Monthly and Yearly keep the newest archive of
	// each of that many hours, days, ISO weeks, months and years, the
	// newest periods that have an archive.
	Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every archive that is not older than the group's newest
	// archive minus Within.
	Within Duration
	// KeepNone is the explicit way to remove every archive (but those a
	// kept archive needs and those that could not be read); a policy with
	// no rule is refused without it.
	KeepNone bool
}

// ErrKeepsNothing is Validate's error for a policy without any keep rule and
// without KeepNone.
var ErrKeepsNothing = errors.New("the retention policy keeps nothing: give at least one of " +
	"--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --keep-within; " +
	"to remove every archive, say so with --keep-none")

// rule is one keep rule, in the order the rules are applied and listed.
type rule struct {
	name string // as in Set, flags and reasons
	flag string
	get  func(*Policy) *int // nil for within and none
}

var rules = []rule{
	{"last", "--keep-last", func(p *Policy) *int { return &p.Last }},
	{"hourly", "--keep-hourly", func(p *Policy) *int { return &p.Hourly }},
	{"daily", "--keep-daily", func(p *Policy) *int { return &p.Daily }},
	{"weekly", "--keep-weekly", func(p *Policy) *int { return &p.Weekly }},
	{"monthly", "--keep-monthly", func(p *Policy) *int { return &p.Monthly }},
	{"yearly", "--keep-yearly", func(p *Policy) *int { return &p.Yearly }},
	{"within", "--keep-within", nil},
	{"none", "--keep-none", nil},
}

// Rules returns the names Set takes, in the order the rules are applied:
// last, hourly, daily, weekly, monthly, yearly, within, none. A flag is
// "--keep-" and the name.
func Rules() []string {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.name
	}
	return names
}

// Empty reports whether no keep rule is set: every count is 0 or less and
// Within is zero. KeepNone does not count as a rule.
func (p Policy) Empty() bool {
	for _, r := range rules {
		if r.get != nil && *r.get(&p) > 0 {
			return false
		}
	}
	return p.Within.IsZero()
}

// Validate checks the policy before it is applied: a negative count or one
// over MaxCount, or a Within field out of range, is an error naming the flag
// (all of them are reported, joined); a policy without rules is
// ErrKeepsNothing unless KeepNone is set; KeepNone together with rules is an
// error, since the two contradict each other.
func (p Policy) Validate() error {
	var errs []error
	for _, r := range rules {
		if r.get == nil {
			continue
		}
		if err := checkCount(r.flag, *r.get(&p)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.Within.check(); err != nil {
		errs = append(errs, fmt.Errorf("--keep-within: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	switch {
	case p.Empty() && !p.KeepNone:
		return ErrKeepsNothing
	case !p.Empty() && p.KeepNone:
		return fmt.Errorf("--keep-none removes every archive, but keep rules are given too (%s); "+
			"drop --keep-none or the keep rules", p.rulesString())
	}
	return nil
}

func checkCount(flag string, n int) error {
	switch {
	case n < 0:
		return fmt.Errorf("%s: %d is negative; give a count of 0 or more", flag, n)
	case n > MaxCount:
		return fmt.Errorf("%s: %d is too large; give a count of at most %d", flag, n, MaxCount)
	}
	return nil
}

// String describes the policy: its rules in rule order ("last 3, daily 7,
// weekly 4, within 14d"), "keep none" for KeepNone (first, if rules are
// given too), and "no keep rule" for an empty policy.
func (p Policy) String() string {
	rs := p.rulesString()
	switch {
	case p.KeepNone && rs == "":
		return "keep none"
	case p.KeepNone:
		return "keep none, " + rs
	case rs == "":
		return "no keep rule"
	}
	return rs
}

// rulesString lists the rules that are set (non-zero counts, negative ones
// included so that they show).
func (p Policy) rulesString() string {
	var parts []string
	for _, r := range rules {
		if r.get != nil && *r.get(&p) != 0 {
			parts = append(parts, r.name+" "+strconv.Itoa(*r.get(&p)))
		}
	}
	if !p.Within.IsZero() {
		parts = append(parts, "within "+p.Within.String())
	}
	return strings.Join(parts, ", ")
}
