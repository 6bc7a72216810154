package retention

import (
	"testing"
	"time"
)

func TestApplyGroups(t *testing.T) {
	g := func(group, id, when string, needs ...string) Item {
		return Item{ID: id, Group: group, Time: at(when), Needs: needs}
	}
	runApply(t, []applyCase{
		{
			// vm-b's backups stopped in January: within counts from its own
			// newest archive, so it keeps its last ones.
			name:   "each group on its own",
			policy: Policy{Last: 1, Within: Duration{Days: 2}},
			items: []Item{
				g("vm-b", "b1", "2024-01-20T03:00:00Z"),
				g("vm-a", "a1", "2024-03-08T02:00:00Z"),
				g("vm-b", "b2", "2024-01-21T03:00:00Z"),
				g("vm-a", "a2", "2024-03-09T02:00:00Z"),
				g("vm-b", "b0", "2024-01-18T03:00:00Z"),
				g("vm-a", "a3", "2024-03-10T02:00:00Z"),
			},
			want: []string{
				"== vm-a",
				"a3: last 1, within 2d",
				"a2: within 2d",
				"a1: within 2d",
				"== vm-b",
				"b2: last 1, within 2d",
				"b1: within 2d",
				"b0: remove",
			},
		},
		{
			name:   "period rules count per group",
			policy: Policy{Daily: 1},
			items: []Item{
				g("2", "x", "2024-03-10T02:00:00Z"),
				g("10", "y", "2024-03-10T03:00:00Z"),
				g("2", "z", "2024-03-10T01:00:00Z"),
				g("10", "w", "2024-03-10T00:00:00Z"),
			},
			want: []string{
				"== 10", "y: daily 1", "w: remove",
				"== 2", "x: daily 1", "z: remove",
			},
		},
		{
			name:   "a base in another group is kept",
			policy: Policy{Last: 1},
			items: []Item{
				g("vm-a", "a1", "2024-03-10T02:00:00Z", "shared"),
				g("vm-a", "a0", "2024-03-09T02:00:00Z"),
				g("pool", "shared", "2024-03-01T02:00:00Z"),
				g("pool", "other", "2024-02-01T02:00:00Z"),
			},
			want: []string{
				"== pool", "shared: last 1, base of a1", "other: remove",
				"== vm-a", "a1: last 1", "a0: remove",
			},
		},
	})
}

// Apply counts in time.Local when no zone is given.
func TestApplyNilLocation(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = zone(t, "Europe/Moscow")
	items := []Item{
		item("a", "2024-03-10T21:30:00Z"), // Moscow 2024-03-11 00:30
		item("b", "2024-03-10T20:30:00Z"), // Moscow 2024-03-10 23:30
	}
	plan := Apply(Policy{Daily: 2}, items, nil)
	checkPlan(t, plan, items)
	if len(plan.Keep) != 2 {
		t.Errorf("with time.Local in Moscow, daily 2 kept %q, want both", plan.Keep)
	}
}
