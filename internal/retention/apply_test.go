package retention

import (
	"testing"
)

// applyCase is a policy run over items in a zone ("" is UTC), and the plan
// as render writes it.
type applyCase struct {
	name   string
	policy Policy
	zone   string
	items  []Item
	want   []string
}

func runApply(t *testing.T, tests []applyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Apply(tt.policy, tt.items, zone(t, tt.zone))
			checkPlan(t, plan, tt.items)
			got := render(plan)
			if len(got) != len(tt.want) {
				t.Fatal(diff(got, tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatal(diff(got, tt.want))
				}
			}
		})
	}
}

func TestApplyRules(t *testing.T) {
	runApply(t, []applyCase{
		{
			name:   "last",
			policy: Policy{Last: 3},
			items: []Item{
				item("a", "2024-03-06T02:00:00Z"),
				item("b", "2024-03-07T02:00:00Z"),
				item("c", "2024-03-08T02:00:00Z"),
				item("d", "2024-03-09T02:00:00Z"),
				item("e", "2024-03-10T02:00:00Z"),
			},
			want: []string{"== vm",
				"e: last 1",
				"d: last 2",
				"c: last 3",
				"b: remove",
				"a: remove",
			},
		},
		{
			name:   "last more than there are",
			policy: Policy{Last: 10},
			items: []Item{
				item("a", "2024-03-09T02:00:00Z"),
				item("b", "2024-03-10T02:00:00Z"),
			},
			want: []string{"== vm", "b: last 1", "a: last 2"},
		},
		{
			name:   "hourly: the newest of each hour, hours without an archive do not count",
			policy: Policy{Hourly: 3},
			items: []Item{
				item("h5", "2024-03-10T14:59:59Z"),
				item("h4", "2024-03-10T14:00:00Z"),
				item("h3", "2024-03-10T13:59:59Z"),
				item("h2", "2024-03-10T11:30:00Z"),
				item("h1", "2024-03-10T10:15:00Z"),
			},
			want: []string{"== vm",
				"h5: hourly 1",
				"h4: remove",
				"h3: hourly 2",
				"h2: hourly 3",
				"h1: remove",
			},
		},
		{
			name:   "daily: 23:59:59 and 00:00:00 are different days",
			policy: Policy{Daily: 2},
			items: []Item{
				item("d4", "2024-03-10T23:59:59Z"),
				item("d3", "2024-03-10T00:00:00Z"),
				item("d2", "2024-03-09T23:59:59Z"),
				item("d1", "2024-03-09T00:00:00Z"),
				item("d0", "2024-03-08T12:00:00Z"),
			},
			want: []string{"== vm",
				"d4: daily 1",
				"d3: remove",
				"d2: daily 2",
				"d1: remove",
				"d0: remove",
			},
		},
		{
			name:   "daily: days without an archive do not count",
			policy: Policy{Daily: 3},
			items: []Item{
				item("a", "2024-03-10T02:00:00Z"),
				item("b", "2024-03-01T02:00:00Z"),
				item("c", "2024-02-01T02:00:00Z"),
				item("d", "2024-01-01T02:00:00Z"),
			},
			want: []string{"== vm", "a: daily 1", "b: daily 2", "c: daily 3", "d: remove"},
		},
		{
			// 2024-03-10 is a Sunday (ISO week 10), 2024-03-11 a Monday (week 11).
			name:   "weekly: ISO weeks run Monday to Sunday",
			policy: Policy{Weekly: 3},
			items: []Item{
				item("w3", "2024-03-11T00:00:00Z"), // Monday, 2024-W11
				item("w2", "2024-03-10T23:59:59Z"), // Sunday, 2024-W10
				item("w1", "2024-03-04T00:00:00Z"), // Monday, 2024-W10
				item("w0", "2024-03-03T23:59:59Z"), // Sunday, 2024-W09
			},
			want: []string{"== vm",
				"w3: weekly 1",
				"w2: weekly 2",
				"w1: remove",
				"w0: weekly 3",
			},
		},
		{
			// Week 1 of 2025 starts on Monday 2024-12-30: the week belongs to
			// its ISO year, the year rule to the calendar year.
			name:   "weekly: week 1 starting in December",
			policy: Policy{Weekly: 2, Yearly: 2},
			items: []Item{
				item("a", "2025-01-05T12:00:00Z"), // Sunday, 2025-W01
				item("b", "2024-12-31T12:00:00Z"), // Tuesday, 2025-W01
				item("c", "2024-12-30T00:00:00Z"), // Monday, 2025-W01
				item("d", "2024-12-29T23:59:59Z"), // Sunday, 2024-W52
			},
			want: []string{"== vm",
				"a: weekly 1, yearly 1",
				"b: yearly 2",
				"c: remove",
				"d: weekly 2",
			},
		},
		{
			// 2020 has 53 ISO weeks: week 53 runs from Monday 2020-12-28 to
			// Sunday 2021-01-03.
			name:   "weekly: week 53",
			policy: Policy{Weekly: 3},
			items: []Item{
				item("a", "2021-01-04T00:00:00Z"), // Monday, 2021-W01
				item("b", "2021-01-03T23:59:59Z"), // Sunday, 2020-W53
				item("c", "2020-12-28T00:00:00Z"), // Monday, 2020-W53
				item("d", "2020-12-27T23:59:59Z"), // Sunday, 2020-W52
			},
			want: []string{"== vm", "a: weekly 1", "b: weekly 2", "c: remove", "d: weekly 3"},
		},
		{
			name:   "monthly: the 31st and the 1st, a leap February",
			policy: Policy{Monthly: 3},
			items: []Item{
				item("m5", "2024-03-01T00:00:00Z"),
				item("m4", "2024-02-29T23:59:59Z"),
				item("m3", "2024-02-01T00:00:00Z"),
				item("m2", "2024-01-31T23:59:59Z"),
				item("m1", "2024-01-31T00:00:00Z"),
				item("m0", "2023-12-31T23:59:59Z"),
			},
			want: []string{"== vm",
				"m5: monthly 1",
				"m4: monthly 2",
				"m3: remove",
				"m2: monthly 3",
				"m1: remove",
				"m0: remove",
			},
		},
		{
			name:   "monthly: February 28th in a common year",
			policy: Policy{Monthly: 2},
			items: []Item{
				item("a", "2023-03-01T00:00:00Z"),
				item("b", "2023-02-28T23:59:59Z"),
				item("c", "2023-02-28T00:00:00Z"),
			},
			want: []string{"== vm", "a: monthly 1", "b: monthly 2", "c: remove"},
		},
		{
			name:   "yearly: 31 December and 1 January",
			policy: Policy{Yearly: 2},
			items: []Item{
				item("y3", "2025-01-01T00:00:00Z"),
				item("y2", "2024-12-31T23:59:59Z"),
				item("y1", "2024-01-01T00:00:00Z"),
				item("y0", "2023-12-31T23:59:59Z"),
			},
			want: []string{"== vm", "y3: yearly 1", "y2: yearly 2", "y1: remove", "y0: remove"},
		},
		{
			name:   "within: relative to the newest archive, the limit itself included",
			policy: Policy{Within: Duration{Days: 14}},
			items: []Item{
				item("n", "2024-03-10T12:00:00Z"),
				item("a", "2024-02-25T12:00:00Z"), // 2024-03-10T12:00:00Z minus 14d
				item("b", "2024-02-25T11:59:59Z"),
			},
			want: []string{"== vm", "n: within 14d", "a: within 14d", "b: remove"},
		},
		{
			name:   "within: weeks are written as days",
			policy: Policy{Within: Duration{Days: 14}},
			items:  []Item{item("n", "2020-01-01T00:00:00Z")},
			want:   []string{"== vm", "n: within 14d"},
		},
		{
			// AddDate: 2024-03-31 minus 1 month is 2024-02-31, that is 2024-03-02.
			name:   "within 1m from the 31st",
			policy: Policy{Within: Duration{Months: 1}},
			items: []Item{
				item("n", "2024-03-31T12:00:00Z"),
				item("a", "2024-03-02T12:00:00Z"),
				item("b", "2024-03-02T11:59:59Z"),
				item("c", "2024-02-29T12:00:00Z"),
			},
			want: []string{"== vm", "n: within 1m", "a: within 1m", "b: remove", "c: remove"},
		},
		{
			name:   "within 1y2m3d4h",
			policy: Policy{Within: Duration{Years: 1, Months: 2, Days: 3, Hours: 4}},
			items: []Item{
				item("n", "2024-05-10T12:00:00Z"),
				item("a", "2023-03-07T08:00:00Z"), // 2024-05-10 minus 1y2m3d is 2023-03-07, minus 4h
				item("b", "2023-03-07T07:59:59Z"),
			},
			want: []string{"== vm", "n: within 1y2m3d4h", "a: within 1y2m3d4h", "b: remove"},
		},
		{
			name:   "all rules: reasons in rule order",
			policy: Policy{Last: 1, Hourly: 1, Daily: 2, Weekly: 1, Monthly: 1, Yearly: 1, Within: Duration{Days: 2}},
			items: []Item{
				item("a", "2024-03-10T20:00:00Z"),
				item("b", "2024-03-10T08:00:00Z"),
				item("c", "2024-03-09T20:00:00Z"),
				item("d", "2024-03-08T20:00:00Z"), // 2024-03-10T20:00:00Z minus 2d
				item("e", "2024-03-08T19:00:00Z"),
			},
			want: []string{"== vm",
				"a: last 1, hourly 1, daily 1, weekly 1, monthly 1, yearly 1, within 2d",
				"b: within 2d",
				"c: daily 2, within 2d",
				"d: within 2d",
				"e: remove",
			},
		},
		{
			name:   "rules overlap: each counts on its own",
			policy: Policy{Last: 2, Daily: 3},
			items: []Item{
				item("a", "2024-03-10T20:00:00Z"),
				item("b", "2024-03-10T08:00:00Z"),
				item("c", "2024-03-09T20:00:00Z"),
				item("d", "2024-03-08T20:00:00Z"),
				item("e", "2024-03-07T20:00:00Z"),
			},
			want: []string{"== vm",
				"a: last 1, daily 1",
				"b: last 2",
				"c: daily 2",
				"d: daily 3",
				"e: remove",
			},
		},
		{
			name:   "input order does not matter",
			policy: Policy{Last: 1, Daily: 2},
			items: []Item{
				item("c", "2024-03-09T20:00:00Z"),
				item("a", "2024-03-10T20:00:00Z"),
				item("d", "2024-03-08T20:00:00Z"),
				item("b", "2024-03-10T08:00:00Z"),
			},
			want: []string{"== vm", "a: last 1, daily 1", "b: remove", "c: daily 2", "d: remove"},
		},
		{
			name:   "equal times: the greater ID counts as newer",
			policy: Policy{Last: 1, Daily: 1, Within: Duration{Hours: 1}},
			items: []Item{
				item("a", "2024-03-10T12:00:00Z"),
				item("c", "2024-03-10T12:00:00Z"),
				item("b", "2024-03-10T12:00:00Z"),
			},
			want: []string{"== vm",
				"c: last 1, daily 1, within 1h",
				"b: within 1h",
				"a: within 1h",
			},
		},
		{
			name:   "equal instants in different offsets are equal times",
			policy: Policy{Last: 1},
			items: []Item{
				item("a", "2024-03-10T15:00:00+03:00"),
				item("b", "2024-03-10T12:00:00Z"),
			},
			want: []string{"== vm", "b: last 1", "a: remove"},
		},
		{
			name:   "keep none removes everything",
			policy: Policy{KeepNone: true},
			items: []Item{
				item("a", "2024-03-10T12:00:00Z"),
				item("b", "2024-03-09T12:00:00Z"),
			},
			want: []string{"== vm", "a: remove", "b: remove"},
		},
		{
			name:   "an invalid policy removes nothing",
			policy: Policy{},
			items: []Item{
				item("a", "2024-03-10T12:00:00Z"),
				item("b", "2024-03-09T12:00:00Z"),
			},
			want: []string{"== vm", "a: invalid policy: nothing removed", "b: invalid policy: nothing removed"},
		},
		{
			name:   "a negative count makes the policy invalid",
			policy: Policy{Last: 1, Daily: -1},
			items:  []Item{item("a", "2024-03-10T12:00:00Z"), item("b", "2024-03-09T12:00:00Z")},
			want:   []string{"== vm", "a: invalid policy: nothing removed", "b: invalid policy: nothing removed"},
		},
		{
			name:   "keep none with rules is invalid",
			policy: Policy{Last: 1, KeepNone: true},
			items:  []Item{item("a", "2024-03-10T12:00:00Z"), item("b", "2024-03-09T12:00:00Z")},
			want:   []string{"== vm", "a: invalid policy: nothing removed", "b: invalid policy: nothing removed"},
		},
		{
			name:   "no items",
			policy: Policy{Last: 1},
			want:   nil,
		},
	})
}

func TestApplyDamagedAndDuplicates(t *testing.T) {
	runApply(t, []applyCase{
		{
			name:   "damaged: kept, and not counted by the rules",
			policy: Policy{Last: 1, Within: Duration{Days: 1}},
			items: []Item{
				{ID: "x", Group: "vm", Time: at("2024-03-11T12:00:00Z"), Damaged: true},
				item("a", "2024-03-10T12:00:00Z"),
				item("b", "2024-03-09T12:00:00Z"),
				item("c", "2024-03-09T11:00:00Z"),
			},
			want: []string{"== vm",
				"x: damaged: kept for inspection",
				"a: last 1, within 1d",
				"b: within 1d",
				"c: remove",
			},
		},
		{
			name:   "damaged without a time or a group",
			policy: Policy{KeepNone: true},
			items: []Item{
				{ID: "x", Damaged: true},
				item("a", "2024-03-10T12:00:00Z"),
			},
			want: []string{"== ", "x: damaged: kept for inspection", "== vm", "a: remove"},
		},
		{
			name:   "an ID given twice is never removed",
			policy: Policy{Last: 1},
			items: []Item{
				item("a", "2024-03-10T12:00:00Z"),
				item("b", "2024-03-09T12:00:00Z"),
				item("b", "2024-03-08T12:00:00Z"),
				item("c", "2024-03-07T12:00:00Z"),
			},
			want: []string{"== vm",
				"a: last 1",
				"b: duplicate id: kept for inspection",
				"b: duplicate id: kept for inspection",
				"c: remove",
			},
		},
	})
}
