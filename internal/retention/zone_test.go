package retention

import "testing"

// The same instants, counted on the wall clocks of UTC, Moscow (UTC+3, no
// daylight saving) and New York (UTC-5, UTC-4 from 2024-03-10 02:00 to
// 2024-11-03 02:00).
func TestApplyZones(t *testing.T) {
	type zoneWant struct {
		zone string
		want []string
	}
	tests := []struct {
		name   string
		policy Policy
		items  []Item
		wants  []zoneWant
	}{
		{
			name:   "days and weeks",
			policy: Policy{Daily: 3, Weekly: 2},
			items: []Item{
				//                                  Moscow              New York
				item("p", "2024-03-10T21:30:00Z"), // Mon 03-11 00:30  Sun 03-10 17:30 EDT
				item("q", "2024-03-10T20:30:00Z"), // Sun 03-10 23:30  Sun 03-10 16:30 EDT
				item("r", "2024-03-10T06:30:00Z"), // Sun 03-10 09:30  Sun 03-10 01:30 EST
				item("s", "2024-03-10T04:30:00Z"), // Sun 03-10 07:30  Sat 03-09 23:30 EST
				item("u", "2024-03-09T22:00:00Z"), // Sun 03-10 01:00  Sat 03-09 17:00 EST
			},
			wants: []zoneWant{
				{"", []string{"== vm", "p: daily 1, weekly 1", "q: remove", "r: remove", "s: remove", "u: daily 2"}},
				{"Europe/Moscow", []string{"== vm", "p: daily 1, weekly 1", "q: daily 2, weekly 2", "r: remove", "s: remove", "u: remove"}},
				{"America/New_York", []string{"== vm", "p: daily 1, weekly 1", "q: remove", "r: remove", "s: daily 2", "u: remove"}},
			},
		},
		{
			name:   "years",
			policy: Policy{Yearly: 2},
			items: []Item{
				//                                  Moscow              New York
				item("a", "2024-01-01T12:00:00Z"), // 2024-01-01 15:00  2024-01-01 07:00
				item("n", "2024-01-01T04:30:00Z"), // 2024-01-01 07:30  2023-12-31 23:30
				item("b", "2023-12-31T22:00:00Z"), // 2024-01-01 01:00  2023-12-31 17:00
				item("c", "2023-12-31T12:00:00Z"), // 2023-12-31 15:00  2023-12-31 07:00
			},
			wants: []zoneWant{
				{"", []string{"== vm", "a: yearly 1", "n: remove", "b: yearly 2", "c: remove"}},
				{"Europe/Moscow", []string{"== vm", "a: yearly 1", "n: remove", "b: remove", "c: yearly 2"}},
				{"America/New_York", []string{"== vm", "a: yearly 1", "n: yearly 2", "b: remove", "c: remove"}},
			},
		},
		{
			// New York's 2024-03-10 has 23 hours.
			name:   "the day daylight saving starts",
			policy: Policy{Daily: 3},
			items: []Item{
				//                                  New York
				item("e", "2024-03-11T04:00:00Z"), // 03-11 00:00:00 EDT
				item("f", "2024-03-11T03:59:59Z"), // 03-10 23:59:59 EDT
				item("g", "2024-03-10T05:00:00Z"), // 03-10 00:00:00 EST
				item("h", "2024-03-10T04:59:59Z"), // 03-09 23:59:59 EST
			},
			wants: []zoneWant{
				{"", []string{"== vm", "e: daily 1", "f: remove", "g: daily 2", "h: remove"}},
				{"America/New_York", []string{"== vm", "e: daily 1", "f: daily 2", "g: remove", "h: daily 3"}},
			},
		},
		{
			// On the day daylight saving ends New York's clock shows 01:xx
			// twice: the two real hours are one wall-clock hour.
			name:   "the hour that happens twice",
			policy: Policy{Hourly: 3},
			items: []Item{
				//                                  New York
				item("x3", "2024-11-03T06:30:00Z"), // 01:30 EST
				item("x2", "2024-11-03T05:30:00Z"), // 01:30 EDT
				item("x1", "2024-11-03T04:30:00Z"), // 00:30 EDT
			},
			wants: []zoneWant{
				{"", []string{"== vm", "x3: hourly 1", "x2: hourly 2", "x1: hourly 3"}},
				{"Europe/Moscow", []string{"== vm", "x3: hourly 1", "x2: hourly 2", "x1: hourly 3"}},
				{"America/New_York", []string{"== vm", "x3: hourly 1", "x2: remove", "x1: hourly 2"}},
			},
		},
		{
			// A day before 2024-03-10 12:00 EDT is 2024-03-09 12:00 EST,
			// 23 hours earlier; in UTC it is 24 hours.
			name:   "within a day across the daylight-saving change",
			policy: Policy{Within: Duration{Days: 1}},
			items: []Item{
				//                                  New York
				item("n", "2024-03-10T16:00:00Z"), // 03-10 12:00 EDT
				item("l", "2024-03-09T17:00:00Z"), // 03-09 12:00 EST
				item("k", "2024-03-09T16:30:00Z"), // 03-09 11:30 EST
				item("j", "2024-03-09T15:59:59Z"), // 03-09 10:59:59 EST
			},
			wants: []zoneWant{
				{"", []string{"== vm", "n: within 1d", "l: within 1d", "k: within 1d", "j: remove"}},
				{"Europe/Moscow", []string{"== vm", "n: within 1d", "l: within 1d", "k: within 1d", "j: remove"}},
				{"America/New_York", []string{"== vm", "n: within 1d", "l: within 1d", "k: remove", "j: remove"}},
			},
		},
	}
	for _, tt := range tests {
		var cases []applyCase
		for _, w := range tt.wants {
			name := w.zone
			if name == "" {
				name = "UTC"
			}
			cases = append(cases, applyCase{name: tt.name + " in " + name, policy: tt.policy, zone: w.zone, items: tt.items, want: w.want})
		}
		runApply(t, cases)
	}
}
