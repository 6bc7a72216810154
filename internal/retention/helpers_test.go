package retention

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, whatever the machine has installed
)

// at reads an RFC 3339 time written out in a test ("2024-03-10T23:59:59Z").
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// zone loads a time zone; "" is UTC.
func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// item is an archive of group "vm".
func item(id, when string, needs ...string) Item {
	return Item{ID: id, Group: "vm", Time: at(when), Needs: needs}
}

// render writes a plan as lines a test can compare: "== <group>" before each
// group, then "<id>: <reasons>" or "<id>: remove" newest first.
func render(p Plan) []string {
	var out []string
	for _, g := range p.Groups {
		out = append(out, "== "+g.Group)
		for _, d := range g.Decisions {
			if d.Keep {
				out = append(out, d.ID+": "+strings.Join(d.Reasons, ", "))
			} else {
				out = append(out, d.ID+": remove")
			}
		}
	}
	return out
}

// checkPlan checks what holds for every plan: each item decided once, in
// its group, newest first; Keep exactly when there are reasons; Keep and
// Remove are the decisions' IDs in plan order, each once and never both;
// nothing removed is needed by something kept.
func checkPlan(t testing.TB, p Plan, items []Item) {
	t.Helper()
	n := 0
	var keep, remove []string
	seen := map[string]bool{}
	keptID := map[string]bool{}
	for gi, g := range p.Groups {
		if gi > 0 && p.Groups[gi-1].Group >= g.Group {
			t.Fatalf("groups not sorted: %q before %q", p.Groups[gi-1].Group, g.Group)
		}
		for i, d := range g.Decisions {
			n++
			if d.Group != g.Group {
				t.Fatalf("%s: group %q in group %q", d.ID, d.Group, g.Group)
			}
			if i > 0 {
				prev := g.Decisions[i-1]
				if compareNewest(Item{ID: prev.ID, Time: prev.Time}, Item{ID: d.ID, Time: d.Time}) > 0 {
					t.Fatalf("%s is before %s but older", prev.ID, d.ID)
				}
			}
			if d.Keep != (len(d.Reasons) > 0) {
				t.Fatalf("%s: keep %v with reasons %q", d.ID, d.Keep, d.Reasons)
			}
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			if d.Keep {
				keep = append(keep, d.ID)
				keptID[d.ID] = true
			} else {
				remove = append(remove, d.ID)
			}
		}
	}
	if n != len(items) {
		t.Fatalf("%d decisions for %d items", n, len(items))
	}
	if !slices.Equal(keep, p.Keep) || !slices.Equal(remove, p.Remove) {
		t.Fatalf("Keep %q Remove %q, decisions say %q and %q", p.Keep, p.Remove, keep, remove)
	}
	for _, it := range items {
		if !keptID[it.ID] {
			continue
		}
		for _, need := range it.Needs {
			if slices.Contains(p.Remove, need) {
				t.Fatalf("%s removed but kept %s needs it", need, it.ID)
			}
		}
	}
}

// diff shows two line lists side by side where they differ.
func diff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < len(got) || i < len(want); i++ {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%-45q %q\n", mark, g, w)
	}
	return "got / want:\n" + b.String()
}
