package retention

import (
	"errors"
	"slices"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		p      Policy
		want   string // "" for no error
		nothng bool   // errors.Is(err, ErrKeepsNothing)
	}{
		{"one rule", Policy{Daily: 7}, "", false},
		{"within only", Policy{Within: Duration{Days: 14}}, "", false},
		{"every rule", Policy{Last: 1, Hourly: 2, Daily: 3, Weekly: 4, Monthly: 5, Yearly: 6, Within: Duration{Years: 1}}, "", false},
		{"keep none alone", Policy{KeepNone: true}, "", false},
		{"largest count", Policy{Yearly: 1000000}, "", false},
		{"empty", Policy{}, ErrKeepsNothing.Error(), true},
		{"only zero counts", Policy{Last: 0, Daily: 0}, ErrKeepsNothing.Error(), true},
		{"negative", Policy{Daily: -1}, "--keep-daily: -1 is negative; give a count of 0 or more", false},
		{"negative beside a valid rule", Policy{Last: 3, Weekly: -2}, "--keep-weekly: -2 is negative; give a count of 0 or more", false},
		{"two negatives, both reported", Policy{Last: -1, Yearly: -5},
			"--keep-last: -1 is negative; give a count of 0 or more\n--keep-yearly: -5 is negative; give a count of 0 or more", false},
		{"negative with keep none", Policy{Hourly: -1, KeepNone: true}, "--keep-hourly: -1 is negative; give a count of 0 or more", false},
		{"too large", Policy{Monthly: 1000001}, "--keep-monthly: 1000001 is too large; give a count of at most 1000000", false},
		{"negative within", Policy{Within: Duration{Days: -1}},
			"--keep-within: -1 days is negative; give a duration such as 14d, 2w, 6m or 1y", false},
		{"within too large", Policy{Within: Duration{Hours: 100001}}, "--keep-within: 100001 hours is too large; at most 100000", false},
		{"keep none with rules", Policy{Last: 3, Within: Duration{Days: 14}, KeepNone: true},
			"--keep-none removes every archive, but keep rules are given too (last 3, within 14d); drop --keep-none or the keep rules", false},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: Validate(%+v):\n got %q\nwant %q", tt.name, tt.p, got, tt.want)
		}
		if errors.Is(err, ErrKeepsNothing) != tt.nothng {
			t.Errorf("%s: errors.Is(%v, ErrKeepsNothing) = %v", tt.name, err, !tt.nothng)
		}
	}
}

func TestErrKeepsNothingText(t *testing.T) {
	const want = "the retention policy keeps nothing: give at least one of --keep-last, --keep-hourly, " +
		"--keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --keep-within; " +
		"to remove every archive, say so with --keep-none"
	if ErrKeepsNothing.Error() != want {
		t.Errorf("ErrKeepsNothing:\n got %q\nwant %q", ErrKeepsNothing, want)
	}
}

func TestEmpty(t *testing.T) {
	tests := []struct {
		p    Policy
		want bool
	}{
		{Policy{}, true},
		{Policy{KeepNone: true}, true},
		{Policy{Last: -1}, true},
		{Policy{Last: 1}, false},
		{Policy{Yearly: 1}, false},
		{Policy{Within: Duration{Hours: 1}}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Empty(); got != tt.want {
			t.Errorf("%+v.Empty() = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		p    Policy
		want string
	}{
		{Policy{Last: 3, Daily: 7, Weekly: 4, Within: Duration{Days: 14}}, "last 3, daily 7, weekly 4, within 14d"},
		{Policy{Last: 1, Hourly: 2, Daily: 3, Weekly: 4, Monthly: 5, Yearly: 6, Within: Duration{Years: 1, Months: 6}},
			"last 1, hourly 2, daily 3, weekly 4, monthly 5, yearly 6, within 1y6m"},
		{Policy{Yearly: 10}, "yearly 10"},
		{Policy{KeepNone: true}, "keep none"},
		{Policy{}, "no keep rule"},
		{Policy{Daily: -1}, "daily -1"},
		{Policy{Last: 2, KeepNone: true}, "keep none, last 2"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestRules(t *testing.T) {
	want := []string{"last", "hourly", "daily", "weekly", "monthly", "yearly", "within", "none"}
	if got := Rules(); !slices.Equal(got, want) {
		t.Errorf("Rules() = %q, want %q", got, want)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		rule, value string
		want        Policy
	}{
		{"last", "3", Policy{Last: 3}},
		{"hourly", "24", Policy{Hourly: 24}},
		{"daily", "7", Policy{Daily: 7}},
		{"weekly", "4", Policy{Weekly: 4}},
		{"monthly", "12", Policy{Monthly: 12}},
		{"yearly", "10", Policy{Yearly: 10}},
		{"daily", "0", Policy{}},
		{"daily", "007", Policy{Daily: 7}},
		{"daily", " 7 ", Policy{Daily: 7}},
		{"daily", "1000000", Policy{Daily: 1000000}},
		{"within", "14d", Policy{Within: Duration{Days: 14}}},
		{"within", "2w", Policy{Within: Duration{Days: 14}}},
		{"within", "1y6m", Policy{Within: Duration{Years: 1, Months: 6}}},
		{"within", "0d", Policy{}},
		{"none", "true", Policy{KeepNone: true}},
		{"none", "YES", Policy{KeepNone: true}},
		{"none", "1", Policy{KeepNone: true}},
		{"none", "false", Policy{}},
		{"none", "no", Policy{}},
		{"none", "0", Policy{}},
	}
	for _, tt := range tests {
		var p Policy
		if err := p.Set(tt.rule, tt.value); err != nil {
			t.Errorf("Set(%q, %q): %v", tt.rule, tt.value, err)
			continue
		}
		if p != tt.want {
			t.Errorf("Set(%q, %q) = %+v, want %+v", tt.rule, tt.value, p, tt.want)
		}
	}

	// Setting again replaces; other rules stay.
	p := Policy{Last: 1, Daily: 7, KeepNone: true}
	for _, kv := range [][2]string{{"daily", "3"}, {"none", "no"}, {"within", "36h"}, {"daily", "5"}} {
		if err := p.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if want := (Policy{Last: 1, Daily: 5, Within: Duration{Hours: 36}}); p != want {
		t.Errorf("after several Sets: %+v, want %+v", p, want)
	}
}

func TestSetErrors(t *testing.T) {
	const hint = "give a count of 0 or more"
	tests := []struct{ rule, value, want string }{
		{"daily", "-1", "--keep-daily: -1 is negative; " + hint},
		{"last", "-12", "--keep-last: -12 is negative; " + hint},
		{"weekly", "abc", `--keep-weekly: "abc" is not a number; ` + hint + ", in decimal digits"},
		{"monthly", "1.5", `--keep-monthly: "1.5" is not a whole number; ` + hint},
		{"monthly", "1,5", `--keep-monthly: "1,5" is not a whole number; ` + hint},
		{"yearly", "1e3", `--keep-yearly: "1e3" is not a number; ` + hint + ", in decimal digits"},
		{"hourly", "0x10", `--keep-hourly: "0x10" is not a number; ` + hint + ", in decimal digits"},
		{"hourly", "3 4", `--keep-hourly: "3 4" is not a number; ` + hint + ", in decimal digits"},
		{"daily", "+3", `--keep-daily: "+3" has a sign; ` + hint + ", without a sign"},
		{"daily", "-0", `--keep-daily: "-0" has a sign; ` + hint + ", without a sign"},
		{"daily", "-", `--keep-daily: "-" is not a number; ` + hint + ", in decimal digits"},
		{"daily", "", "--keep-daily: no count given; " + hint},
		{"daily", "  ", "--keep-daily: no count given; " + hint},
		{"daily", "1000001", "--keep-daily: 1000001 is too large; give a count of at most 1000000"},
		{"last", "99999999999999999999", "--keep-last: 99999999999999999999 is too large; give a count of at most 1000000"},
		{"within", "-14d", `--keep-within: "-14d": a duration cannot be negative; write a number and a unit, e.g. 14d, 2w, 6m, 1y6m or 36h (y years, m months, w weeks, d days, h hours)`},
		{"within", "14", `--keep-within: "14": 14 has no unit; write a number and a unit, e.g. 14d, 2w, 6m, 1y6m or 36h (y years, m months, w weeks, d days, h hours)`},
		{"within", "", `--keep-within: empty duration; write a number and a unit, e.g. 14d, 2w, 6m, 1y6m or 36h (y years, m months, w weeks, d days, h hours)`},
		{"none", "maybe", `--keep-none: "maybe" is not true or false; use true, false, yes, no, 1 or 0`},
		{"none", "", `--keep-none: "" is not true or false; use true, false, yes, no, 1 or 0`},
		{"dayly", "7", `unknown keep rule "dayly"; use one of last, hourly, daily, weekly, monthly, yearly, within, none`},
		{"Daily", "7", `unknown keep rule "Daily"; use one of last, hourly, daily, weekly, monthly, yearly, within, none`},
		{"keep-daily", "7", `unknown keep rule "keep-daily"; use one of last, hourly, daily, weekly, monthly, yearly, within, none`},
		{"", "7", `unknown keep rule ""; use one of last, hourly, daily, weekly, monthly, yearly, within, none`},
	}
	for _, tt := range tests {
		before := Policy{Last: 2, Daily: 3, Within: Duration{Days: 1}}
		p := before
		err := p.Set(tt.rule, tt.value)
		if err == nil {
			t.Errorf("Set(%q, %q) = %+v, want an error", tt.rule, tt.value, p)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Set(%q, %q):\n got %s\nwant %s", tt.rule, tt.value, err, tt.want)
		}
		if p != before {
			t.Errorf("Set(%q, %q) failed but changed the policy to %+v", tt.rule, tt.value, p)
		}
	}
}
