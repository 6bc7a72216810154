package retention

import (
	"fmt"
	"strconv"
	"strings"
)

// Set sets one rule from its name, as flags ("--keep-daily") and
// configuration keys use it, and the value as typed:
//
//   - last, hourly, daily, weekly, monthly, yearly: a count, decimal digits
//     only, 0 (the rule is off) to MaxCount;
//   - within: a Duration as ParseDuration reads it ("0d" turns the rule off);
//   - none: true, false, yes, no, 1 or 0 (any case) for KeepNone.
//
// Surrounding spaces of the value are ignored. On an error the policy is
// unchanged; the error names the flag ("--keep-daily: ...") and says what to
// give instead. Set does not check the policy as a whole: call Validate once
// every rule is set.
func (p *Policy) Set(name, value string) error {
	v := strings.TrimSpace(value)
	for _, r := range rules {
		if r.name != name {
			continue
		}
		switch {
		case r.get != nil:
			n, err := parseCount(r.flag, v)
			if err != nil {
				return err
			}
			*r.get(p) = n
		case name == "within":
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", r.flag, err)
			}
			p.Within = d
		default: // none
			b, err := parseBool(r.flag, v)
			if err != nil {
				return err
			}
			p.KeepNone = b
		}
		return nil
	}
	return fmt.Errorf("unknown keep rule %q; use one of %s", name, strings.Join(Rules(), ", "))
}

func parseCount(flag, v string) (int, error) {
	const hint = "give a count of 0 or more"
	if v == "" {
		return 0, fmt.Errorf("%s: no count given; %s", flag, hint)
	}
	digits := v
	if v[0] == '-' || v[0] == '+' {
		digits = v[1:]
	}
	allDigits := digits != ""
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			allDigits = false
			break
		}
	}
	switch {
	case allDigits && v[0] == '-':
		if strings.Trim(digits, "0") == "" {
			return 0, fmt.Errorf("%s: %q has a sign; %s, without a sign", flag, v, hint)
		}
		return 0, fmt.Errorf("%s: %s is negative; %s", flag, v, hint)
	case allDigits && v[0] == '+':
		return 0, fmt.Errorf("%s: %q has a sign; %s, without a sign", flag, v, hint)
	case !allDigits:
		if strings.ContainsAny(v, ".,") {
			if _, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64); err == nil {
				return 0, fmt.Errorf("%s: %q is not a whole number; %s", flag, v, hint)
			}
		}
		return 0, fmt.Errorf("%s: %q is not a number; %s, in decimal digits", flag, v, hint)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > MaxCount {
		return 0, fmt.Errorf("%s: %s is too large; give a count of at most %d", flag, v, MaxCount)
	}
	return n, nil
}

func parseBool(flag, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not true or false; use true, false, yes, no, 1 or 0", flag, v)
}
