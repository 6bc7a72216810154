package retention

import "testing"

// chain is two backup chains of one VM: a full f1 with incrementals i1..i3
// (each needs the full and every incremental before it), then a full f2
// with differentials d1 and d2 (each needs only f2).
func chain() []Item {
	return []Item{
		item("f1", "2024-03-01T02:00:00Z"),
		item("i1", "2024-03-02T02:00:00Z", "f1"),
		item("i2", "2024-03-03T02:00:00Z", "f1", "i1"),
		item("i3", "2024-03-04T02:00:00Z", "f1", "i1", "i2"),
		item("f2", "2024-03-05T02:00:00Z"),
		item("d1", "2024-03-06T02:00:00Z", "f2"),
		item("d2", "2024-03-07T02:00:00Z", "f2"),
	}
}

func TestApplyChains(t *testing.T) {
	runApply(t, []applyCase{
		{
			name:   "keep last 1: a differential keeps its full only",
			policy: Policy{Last: 1},
			items:  chain(),
			want: []string{"== vm",
				"d2: last 1",
				"d1: remove",
				"f2: base of d2",
				"i3: remove",
				"i2: remove",
				"i1: remove",
				"f1: remove",
			},
		},
		{
			name:   "keep last 1: an incremental keeps the whole chain under it",
			policy: Policy{Last: 1},
			items:  chain()[:4],
			want: []string{"== vm",
				"i3: last 1",
				"i2: base of i3",
				"i1: base of i3, base of i2",
				"f1: base of i3, base of i2, base of i1",
			},
		},
		{
			name:   "a base kept by a rule too",
			policy: Policy{Last: 1, Daily: 3},
			items:  chain(),
			want: []string{"== vm",
				"d2: last 1, daily 1",
				"d1: daily 2",
				"f2: daily 3, base of d2, base of d1",
				"i3: remove",
				"i2: remove",
				"i1: remove",
				"f1: remove",
			},
		},
		{
			name:   "an old incremental kept by a rule keeps its chain but not the incrementals after it",
			policy: Policy{Last: 1, Monthly: 2},
			items: append(chain(),
				item("i0", "2024-02-29T02:00:00Z", "f0"),
				item("f0", "2024-02-28T02:00:00Z"),
				item("e0", "2024-02-27T02:00:00Z")),
			want: []string{"== vm",
				"d2: last 1, monthly 1",
				"d1: remove",
				"f2: base of d2",
				"i3: remove",
				"i2: remove",
				"i1: remove",
				"f1: remove",
				"i0: monthly 2",
				"f0: base of i0",
				"e0: remove",
			},
		},
		{
			name:   "keep none removes whole chains",
			policy: Policy{KeepNone: true},
			items:  chain()[:4],
			want:   []string{"== vm", "i3: remove", "i2: remove", "i1: remove", "f1: remove"},
		},
		{
			name:   "a damaged archive keeps its bases, even with keep none",
			policy: Policy{KeepNone: true},
			items: []Item{
				item("f1", "2024-03-01T02:00:00Z"),
				item("i1", "2024-03-02T02:00:00Z", "f1"),
				{ID: "i2", Group: "vm", Time: at("2024-03-03T02:00:00Z"), Needs: []string{"f1", "i1"}, Damaged: true},
				item("i3", "2024-03-04T02:00:00Z", "f1", "i1", "i2"),
			},
			want: []string{"== vm",
				"i3: remove",
				"i2: damaged: kept for inspection",
				"i1: base of i2",
				"f1: base of i2, base of i1",
			},
		},
		{
			name:   "a damaged base of a kept archive",
			policy: Policy{Last: 1},
			items: []Item{
				{ID: "f1", Group: "vm", Time: at("2024-03-01T02:00:00Z"), Damaged: true},
				item("i1", "2024-03-02T02:00:00Z", "f1"),
			},
			want: []string{"== vm", "i1: last 1", "f1: damaged: kept for inspection, base of i1"},
		},
		{
			name:   "needs that are not there, named twice, or the archive itself",
			policy: Policy{Last: 1},
			items: []Item{
				item("f1", "2024-03-01T02:00:00Z"),
				item("i1", "2024-03-02T02:00:00Z", "gone", "f1", "f1", "i1"),
			},
			want: []string{"== vm", "i1: last 1", "f1: base of i1"},
		},
		{
			name:   "a cycle of needs does not hang",
			policy: Policy{Last: 1},
			items: []Item{
				item("a", "2024-03-01T02:00:00Z", "b"),
				item("b", "2024-03-02T02:00:00Z", "a"),
				item("c", "2024-03-03T02:00:00Z", "b"),
			},
			want: []string{"== vm", "c: last 1", "b: base of c, base of a", "a: base of b"},
		},
	})
}

func TestDependants(t *testing.T) {
	line := []Item{ // c needs only b, b needs only a
		item("a", "2024-03-01T02:00:00Z"),
		item("b", "2024-03-02T02:00:00Z", "a"),
		item("c", "2024-03-03T02:00:00Z", "b"),
	}
	cycle := []Item{
		item("x", "2024-03-01T02:00:00Z", "y"),
		item("y", "2024-03-02T02:00:00Z", "x"),
	}
	tests := []struct {
		name  string
		items []Item
		ids   []string
		want  map[string][]string
	}{
		{"the newest incremental: nothing needs it", chain(), []string{"i3"}, map[string][]string{}},
		{"a differential", chain(), []string{"d1"}, map[string][]string{}},
		{"a full with incrementals", chain(), []string{"f1"}, map[string][]string{"f1": {"i1", "i2", "i3"}}},
		{"a full with differentials", chain(), []string{"f2"}, map[string][]string{"f2": {"d1", "d2"}}},
		{"a middle incremental", chain(), []string{"i2"}, map[string][]string{"i2": {"i3"}}},
		{"a full and an incremental: those removed too are not listed", chain(), []string{"f1", "i1"},
			map[string][]string{"f1": {"i2", "i3"}, "i1": {"i2", "i3"}}},
		{"a whole chain", chain(), []string{"i3", "f1", "i2", "i1"}, map[string][]string{}},
		{"transitive", line, []string{"a"}, map[string][]string{"a": {"b", "c"}}},
		{"transitive through one removed too", line, []string{"a", "b"}, map[string][]string{"a": {"c"}, "b": {"c"}}},
		{"direct", line, []string{"b"}, map[string][]string{"b": {"c"}}},
		{"an id given twice", line, []string{"b", "b"}, map[string][]string{"b": {"c"}}},
		{"an unknown id", line, []string{"zz"}, map[string][]string{}},
		{"no ids", line, nil, map[string][]string{}},
		{"a cycle", cycle, []string{"x"}, map[string][]string{"x": {"y"}}},
	}
	for _, tt := range tests {
		got := Dependants(tt.items, tt.ids)
		if len(got) != len(tt.want) {
			t.Errorf("%s: Dependants(%q) = %q, want %q", tt.name, tt.ids, got, tt.want)
			continue
		}
		for id, w := range tt.want {
			g := got[id]
			if len(g) != len(w) {
				t.Errorf("%s: Dependants(%q)[%s] = %q, want %q", tt.name, tt.ids, id, g, w)
				continue
			}
			for i := range w {
				if g[i] != w[i] {
					t.Errorf("%s: Dependants(%q)[%s] = %q, want %q", tt.name, tt.ids, id, g, w)
					break
				}
			}
		}
	}
}
