package retention

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseDuration checks that ParseDuration never panics, that what it
// accepts is in range, and that String writes it back in a form that parses
// to the same value and is its own canonical form.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"14d", "2w", "1y6m", "36h", "1y2m3d4h", "0d", "2w3d", " 7d ", "100000y",
		"14285w5d", "", "-1d", "1.5d", "3M", "1d2d", "99999999999999999999d", "1y 6m", "é", "3\x00d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", s)
			}
			return
		}
		if cerr := d.check(); cerr != nil {
			t.Fatalf("%q parsed to %+v, out of range: %v", s, d, cerr)
		}
		out := d.String()
		back, err := ParseDuration(out)
		if err != nil {
			t.Fatalf("%q parsed to %+v whose String %q does not parse: %v", s, d, out, err)
		}
		if back != d {
			t.Fatalf("%q parsed to %+v, String %q parses to %+v", s, d, out, back)
		}
		if back.String() != out {
			t.Fatalf("String not canonical: %q then %q", out, back.String())
		}
		if d.IsZero() != (out == "0d") {
			t.Fatalf("%+v: IsZero %v, String %q", d, d.IsZero(), out)
		}
		_ = d.Before(time.Date(2024, 3, 31, 12, 0, 0, 0, time.UTC))
	})
}

// FuzzPolicySet checks that Set never panics, leaves the policy unchanged
// when it fails, names the flag or the unknown rule in its errors, sets only
// values in range, and that a value set reads back from its canonical form.
func FuzzPolicySet(f *testing.F) {
	for _, kv := range [][2]string{{"last", "3"}, {"daily", "-1"}, {"weekly", "abc"}, {"monthly", "1.5"},
		{"yearly", "99999999999999999999"}, {"hourly", " 24 "}, {"within", "14d"}, {"within", "-2w"},
		{"none", "yes"}, {"none", "maybe"}, {"dayly", "7"}, {"", ""}, {"last", "+1"}, {"within", "0d"}} {
		f.Add(kv[0], kv[1])
	}
	items := chain()
	f.Fuzz(func(t *testing.T, rule, value string) {
		before := Policy{Last: 2, Daily: 3, Within: Duration{Days: 1}}
		p := before
		err := p.Set(rule, value)
		if err != nil {
			if p != before {
				t.Fatalf("Set(%q, %q) failed (%v) but changed the policy to %+v", rule, value, err, p)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "--keep-"+rule+": ") && !strings.HasPrefix(msg, "unknown keep rule ") {
				t.Fatalf("Set(%q, %q): error names neither the flag nor the rule: %s", rule, value, msg)
			}
			return
		}
		if !slices.Contains(Rules(), rule) {
			t.Fatalf("Set(%q, %q) accepted an unknown rule", rule, value)
		}
		for _, r := range rules {
			if r.get != nil {
				if n := *r.get(&p); n < 0 || n > MaxCount {
					t.Fatalf("Set(%q, %q) set %s to %d", rule, value, r.name, n)
				}
			}
		}
		if werr := p.Within.check(); werr != nil {
			t.Fatalf("Set(%q, %q) set within out of range: %v", rule, value, werr)
		}
		// The canonical form of what was set sets the same policy.
		var canon string
		switch {
		case rule == "within":
			canon = p.Within.String()
		case rule == "none":
			canon = strconv.FormatBool(p.KeepNone)
		default:
			for _, r := range rules {
				if r.name == rule {
					canon = strconv.Itoa(*r.get(&p))
				}
			}
		}
		q := before
		if err := q.Set(rule, canon); err != nil || q != p {
			t.Fatalf("Set(%q, %q) gave %+v; its canonical form %q gives %+v, %v", rule, value, p, canon, q, err)
		}
		_ = p.String()
		verr := p.Validate()
		if verr != nil && strings.Contains(verr.Error(), "negative") {
			t.Fatalf("Set(%q, %q) made a negative rule: %v", rule, value, verr)
		}
		checkPlan(t, Apply(p, items, time.UTC), items)
	})
}

// FuzzApply checks Apply's invariants on arbitrary items: every item decided
// once and in order, Keep and Remove consistent with the decisions, nothing
// removed that a kept item needs (so Dependants of the removed IDs is
// empty), damaged items kept, and no rule keeping more than its count.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 24, 1, 2, 0, 48, 3, 3, 1, 0, 0x80}, uint8(1), uint8(2), uint8(1), uint8(1), uint8(0), uint8(0), uint8(3), false, uint8(0))
	f.Add([]byte{5, 1, 200, 9, 5, 2, 100, 9, 7, 0x81, 7, 0}, uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), true, uint8(2))
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), uint8(3), uint8(3), uint8(3), uint8(3), uint8(3), uint8(3), uint8(30), false, uint8(1))
	zones := []string{"", "Europe/Moscow", "America/New_York"}
	f.Fuzz(func(t *testing.T, data []byte, last, hourly, daily, weekly, monthly, yearly, withinHours uint8, none bool, z uint8) {
		base := time.Date(2024, 3, 10, 1, 30, 0, 0, time.UTC)
		var items []Item
		for i := 0; i+4 <= len(data) && len(items) < 64; i += 4 {
			b := data[i : i+4]
			it := Item{
				ID:      fmt.Sprintf("a%d", b[0]%24),
				Group:   string(rune('A' + b[1]%3)),
				Time:    base.Add(-time.Duration(b[2]) * 97 * time.Minute),
				Damaged: b[1]&0x80 != 0,
			}
			if b[3]&1 != 0 {
				it.Needs = []string{fmt.Sprintf("a%d", (b[3]>>1)%24)}
			}
			items = append(items, it)
		}
		p := Policy{Last: int(last % 8), Hourly: int(hourly % 8), Daily: int(daily % 8), Weekly: int(weekly % 8),
			Monthly: int(monthly % 8), Yearly: int(yearly % 8), Within: Duration{Hours: int(withinHours)}, KeepNone: none}
		plan := Apply(p, items, zone(t, zones[int(z)%len(zones)]))
		checkPlan(t, plan, items)
		if deps := Dependants(items, plan.Remove); len(deps) > 0 {
			t.Fatalf("removed archives that kept ones need: %q", deps)
		}
		for _, g := range plan.Groups {
			count := map[string]int{}
			for _, d := range g.Decisions {
				for _, r := range d.Reasons {
					if name, _, ok := strings.Cut(r, " "); ok {
						count[name]++
					}
				}
			}
			for name, limit := range map[string]int{"last": p.Last, "hourly": p.Hourly, "daily": p.Daily,
				"weekly": p.Weekly, "monthly": p.Monthly, "yearly": p.Yearly} {
				if p.Validate() == nil && count[name] > limit {
					t.Fatalf("group %s: %d reasons %q for a count of %d", g.Group, count[name], name, limit)
				}
			}
		}
		for i, it := range items {
			if it.Damaged && slices.Contains(plan.Remove, it.ID) {
				t.Fatalf("damaged item %d (%s) removed", i, it.ID)
			}
		}
	})
}
