package retention

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in    string
		want  Duration
		canon string
	}{
		{"14d", Duration{Days: 14}, "14d"},
		{"2w", Duration{Days: 14}, "14d"},
		{"2w3d", Duration{Days: 17}, "17d"},
		{"3d2w", Duration{Days: 17}, "17d"},
		{"36h", Duration{Hours: 36}, "36h"},
		{"6m", Duration{Months: 6}, "6m"},
		{"1y", Duration{Years: 1}, "1y"},
		{"1y6m", Duration{Years: 1, Months: 6}, "1y6m"},
		{"1y2m3d4h", Duration{Years: 1, Months: 2, Days: 3, Hours: 4}, "1y2m3d4h"},
		{"4h3d2m1y", Duration{Years: 1, Months: 2, Days: 3, Hours: 4}, "1y2m3d4h"},
		{"1y0m", Duration{Years: 1}, "1y"},
		{"007d", Duration{Days: 7}, "7d"},
		{" 14d\t", Duration{Days: 14}, "14d"},
		{"0d", Duration{}, "0d"},
		{"0y0h", Duration{}, "0d"},
		{"0w", Duration{}, "0d"},
		{"100000y", Duration{Years: 100000}, "100000y"},
		{"100000d", Duration{Days: 100000}, "100000d"},
		{"14285w", Duration{Days: 99995}, "99995d"},
		{"14285w5d", Duration{Days: 100000}, "100000d"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("ParseDuration(%q).String() = %q, want %q", tt.in, s, tt.canon)
		}
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("%q does not parse back: %+v, %v", got.String(), back, err)
		}
		if got.IsZero() != (tt.canon == "0d") {
			t.Errorf("ParseDuration(%q).IsZero() = %v", tt.in, got.IsZero())
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	const hint = "write a number and a unit, e.g. 14d, 2w, 6m, 1y6m or 36h (y years, m months, w weeks, d days, h hours)"
	tests := []struct{ in, want string }{
		{"", "empty duration; " + hint},
		{"   ", "empty duration; " + hint},
		{"14", `"14": 14 has no unit; ` + hint},
		{"1d2", `"1d2": 2 has no unit; ` + hint},
		{"d", `"d": unit d has no number before it; ` + hint},
		{"-1d", `"-1d": a duration cannot be negative; ` + hint},
		{"1d-2h", `"1d-2h": a duration cannot be negative; ` + hint},
		{"+1d", `"+1d": write the duration without a sign; ` + hint},
		{"3x", `"3x": unknown unit 'x'; ` + hint},
		{"3s", `"3s": unknown unit 's'; ` + hint},
		{"3é", `"3é": unknown unit 'é'; ` + hint},
		{"3D", `"3D": unit D: units are lower case (y, m, w, d, h)`},
		{"3M", `"3M": unit M: units are lower case, m is months (minutes are not a unit)`},
		{"1.5d", `"1.5d": fractions are not allowed; write whole units, e.g. 36h for 1.5d`},
		{"1y 6m", `"1y 6m": spaces are not allowed inside a duration; ` + hint},
		{"1 d", `"1 d": spaces are not allowed inside a duration; ` + hint},
		{"1d2d", `"1d2d": unit d given twice; give each unit once`},
		{"x1d", `"x1d": 'x' is not a number and a unit; ` + hint},
		{"100001d", `"100001d": 100001d is too large; at most 100000 of a unit`},
		{"99999999999999999999999h", `"99999999999999999999999h": 99999999999999999999999h is too large; at most 100000 of a unit`},
		{"14286w", `"14286w": too many days (weeks count 7 days each); at most 100000 days`},
		{"14285w6d", `"14285w6d": too many days (weeks count 7 days each); at most 100000 days`},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", tt.in, d)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseDuration(%q):\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestDurationBefore(t *testing.T) {
	ny := zone(t, "America/New_York")
	tests := []struct {
		name string
		d    Duration
		t    time.Time
		want time.Time
	}{
		{"zero", Duration{}, at("2024-03-10T12:00:00Z"), at("2024-03-10T12:00:00Z")},
		{"14 days", Duration{Days: 14}, at("2024-03-10T12:00:00Z"), at("2024-02-25T12:00:00Z")},
		{"a day before 1 March in a leap year", Duration{Days: 1}, at("2024-03-01T00:00:00Z"), at("2024-02-29T00:00:00Z")},
		{"a day and 2 hours across a month end", Duration{Days: 1, Hours: 2}, at("2024-03-01T01:00:00Z"), at("2024-02-28T23:00:00Z")},
		{"36 hours", Duration{Hours: 36}, at("2024-03-01T12:00:00Z"), at("2024-02-29T00:00:00Z")},
		{"a month before 31 March is 31 February, normalised to 2 March (leap year)", Duration{Months: 1}, at("2024-03-31T12:00:00Z"), at("2024-03-02T12:00:00Z")},
		{"a month before 31 March is 31 February, normalised to 3 March", Duration{Months: 1}, at("2023-03-31T12:00:00Z"), at("2023-03-03T12:00:00Z")},
		{"a month before 30 April", Duration{Months: 1}, at("2024-04-30T12:00:00Z"), at("2024-03-30T12:00:00Z")},
		{"two months before 31 January is 31 November, normalised to 1 December", Duration{Months: 2}, at("2024-01-31T00:00:00Z"), at("2023-12-01T00:00:00Z")},
		{"a month and a day before 31 May", Duration{Months: 1, Days: 1}, at("2024-05-31T00:00:00Z"), at("2024-04-30T00:00:00Z")},
		{"a year before 29 February is 29 February 2023, normalised to 1 March", Duration{Years: 1}, at("2024-02-29T06:00:00Z"), at("2023-03-01T06:00:00Z")},
		{"a year and a half", Duration{Years: 1, Months: 6}, at("2024-03-10T00:00:00Z"), at("2022-09-10T00:00:00Z")},
		{"a day across the DST change in New York is 23 hours", Duration{Days: 1},
			at("2024-03-10T12:00:00-04:00").In(ny), at("2024-03-09T12:00:00-05:00")},
		{"24 hours across the DST change in New York", Duration{Hours: 24},
			at("2024-03-10T12:00:00-04:00").In(ny), at("2024-03-09T11:00:00-05:00")},
		{"a day across the end of DST in New York is 25 hours", Duration{Days: 1},
			at("2024-11-03T12:00:00-05:00").In(ny), at("2024-11-02T12:00:00-04:00")},
	}
	for _, tt := range tests {
		if got := tt.d.Before(tt.t); !got.Equal(tt.want) {
			t.Errorf("%s: %s before %s = %s, want %s", tt.name, tt.d, tt.t, got, tt.want)
		}
	}
}
