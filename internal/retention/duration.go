package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDurationField is the largest number of years, months, days or hours a
// Duration may hold; ParseDuration refuses more, so that arithmetic on a
// duration cannot overflow and a typo ("14000000d") is caught.
const MaxDurationField = 100000

// Duration is a calendar duration: years and months of varying length, days
// of the wall clock (23 or 25 hours across a daylight-saving change) and
// hours of 60 minutes. Weeks are written as 7 days.
type Duration struct {
	Years, Months, Days, Hours int
}

const durationHint = "write a number and a unit, e.g. 14d, 2w, 6m, 1y6m or 36h (y years, m months, w weeks, d days, h hours)"

// ParseDuration reads a calendar duration: one or more groups of decimal
// digits and a unit, y (years), m (months), w (weeks, stored as 7 days), d
// (days) or h (hours), e.g. "14d", "2w", "1y6m", "36h", "1y2m3d4h". Units are
// lower case, each may appear once, in any order ("2w3d" is 17 days);
// surrounding spaces are ignored, inner spaces are not allowed. Signs,
// fractions, an empty string, a number without a unit and a field over
// MaxDurationField (after weeks are turned into days) are refused.
//
// A zero duration ("0d", "0y0h") is accepted and returns the zero Duration:
// as a keep rule it means the rule is off, like a count of 0.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Duration{}, fmt.Errorf("empty duration; %s", durationHint)
	}
	var (
		d     Duration
		weeks int
		seen  = map[byte]bool{}
	)
	for i := 0; i < len(t); {
		j := i
		for j < len(t) && t[j] >= '0' && t[j] <= '9' {
			j++
		}
		digits := t[i:j]
		if j == len(t) { // digits run to the end: a number without a unit
			return Duration{}, fmt.Errorf("%q: %s has no unit; %s", s, digits, durationHint)
		}
		unit := t[j]
		if digits == "" {
			switch {
			case unit == '-':
				return Duration{}, fmt.Errorf("%q: a duration cannot be negative; %s", s, durationHint)
			case unit == '+':
				return Duration{}, fmt.Errorf("%q: write the duration without a sign; %s", s, durationHint)
			case unit == ' ' || unit == '\t':
				return Duration{}, fmt.Errorf("%q: spaces are not allowed inside a duration; %s", s, durationHint)
			case isUnit(unit):
				return Duration{}, fmt.Errorf("%q: unit %c has no number before it; %s", s, unit, durationHint)
			default:
				return Duration{}, fmt.Errorf("%q: %s is not a number and a unit; %s", s, quoteRuneAt(t, j), durationHint)
			}
		}
		if !isUnit(unit) {
			switch {
			case unit == '.' || unit == ',':
				return Duration{}, fmt.Errorf("%q: fractions are not allowed; write whole units, e.g. 36h for 1.5d", s)
			case unit == ' ' || unit == '\t':
				return Duration{}, fmt.Errorf("%q: spaces are not allowed inside a duration; %s", s, durationHint)
			case unit == 'M':
				return Duration{}, fmt.Errorf("%q: unit M: units are lower case, m is months (minutes are not a unit)", s)
			case unit < 0x80 && isUnit(unit|0x20):
				return Duration{}, fmt.Errorf("%q: unit %c: units are lower case (y, m, w, d, h)", s, unit)
			default:
				return Duration{}, fmt.Errorf("%q: unknown unit %s; %s", s, quoteRuneAt(t, j), durationHint)
			}
		}
		if seen[unit] {
			return Duration{}, fmt.Errorf("%q: unit %c given twice; give each unit once", s, unit)
		}
		seen[unit] = true
		n, err := strconv.Atoi(digits)
		if err != nil || n > MaxDurationField {
			return Duration{}, fmt.Errorf("%q: %s%c is too large; at most %d of a unit", s, digits, unit, MaxDurationField)
		}
		switch unit {
		case 'y':
			d.Years = n
		case 'm':
			d.Months = n
		case 'w':
			weeks = n
		case 'd':
			d.Days = n
		case 'h':
			d.Hours = n
		}
		i = j + 1
	}
	if weeks > 0 {
		if weeks > (MaxDurationField-d.Days)/7 {
			return Duration{}, fmt.Errorf("%q: too many days (weeks count 7 days each); at most %d days", s, MaxDurationField)
		}
		d.Days += 7 * weeks
	}
	return d, nil
}

func isUnit(c byte) bool {
	return c == 'y' || c == 'm' || c == 'w' || c == 'd' || c == 'h'
}

// quoteRuneAt quotes the character that starts at t[i], whole if it is a
// multi-byte UTF-8 character.
func quoteRuneAt(t string, i int) string {
	for _, r := range t[i:] {
		return strconv.QuoteRune(r)
	}
	return `""`
}

// String writes the duration in the form ParseDuration reads: the non-zero
// fields in the order y, m, d, h ("1y6m", "14d", "1y2m3d4h"); weeks come out
// as days ("2w" is "14d"). The zero Duration is "0d".
func (d Duration) String() string {
	if d.IsZero() {
		return "0d"
	}
	var b strings.Builder
	for _, f := range []struct {
		n    int
		unit byte
	}{{d.Years, 'y'}, {d.Months, 'm'}, {d.Days, 'd'}, {d.Hours, 'h'}} {
		if f.n != 0 {
			b.WriteString(strconv.Itoa(f.n))
			b.WriteByte(f.unit)
		}
	}
	return b.String()
}

// IsZero reports whether every field is zero.
func (d Duration) IsZero() bool {
	return d == Duration{}
}

// Before returns t minus the duration: t.AddDate(-Years, -Months, -Days) in
// t's location, then Hours hours of 60 minutes earlier. Like Go's AddDate and
// restic, a day that does not exist in the target month is normalised
// forward: 31 March minus 1m is "31 February", that is 2 or 3 March; one day
// before a daylight-saving change is the same wall-clock time the day before,
// 23 or 25 hours earlier.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}

// check reports a field a Duration built without ParseDuration holds that
// ParseDuration would refuse.
func (d Duration) check() error {
	for _, f := range []struct {
		n    int
		name string
	}{{d.Years, "years"}, {d.Months, "months"}, {d.Days, "days"}, {d.Hours, "hours"}} {
		if f.n < 0 {
			return fmt.Errorf("%d %s is negative; give a duration such as 14d, 2w, 6m or 1y", f.n, f.name)
		}
		if f.n > MaxDurationField {
			return fmt.Errorf("%d %s is too large; at most %d", f.n, f.name, MaxDurationField)
		}
	}
	return nil
}
