package retention

import (
	"slices"
	"strings"
	"time"
)

// Apply decides for every item whether the policy keeps it. loc is the time
// zone whose wall clock counts hours, days, weeks, months and years, and in
// which Within's calendar arithmetic is done; nil means time.Local.
//
// Items are grouped by Group and the rules run on each group separately,
// newest first (equal times ordered by ID, descending): "last k" for the k
// newest; "hourly k", "daily k", "weekly k", "monthly k", "yearly k" for the
// newest item of the k-th newest period that has an item; "within <d>" (as
// Duration.String writes d) for every item not older than the group's newest
// item minus d, relative to the newest archive rather than to now, so that a
// group whose backups stopped keeps its last ones. An item's reasons are in
// that rule order.
//
// Then every item that a kept item needs, directly or through other needed
// items and across groups, is kept too, with one "base of <id>" for each kept
// item <id> that names it in Needs, in plan order; IDs in Needs that no item
// has are ignored. A plan therefore never removes an item a kept item needs.
//
// Some items are kept whatever the rules say and take no part in them (the
// rules run as if they were absent): damaged items (ReasonDamaged) and items
// whose ID another item has too (ReasonDuplicateID), since removing that ID
// could remove either. Their bases are kept like any kept item's.
//
// Apply expects a policy that passed Validate. Given one that does not, it
// removes nothing: every item is kept with ReasonInvalidPolicy. With
// KeepNone every item is removed except those kept above.
func Apply(p Policy, items []Item, loc *time.Location) Plan {
	if loc == nil {
		loc = time.Local
	}
	invalid := p.Validate() != nil
	byID := make(map[string][]int, len(items))
	byGroup := map[string][]int{}
	for i, it := range items {
		byID[it.ID] = append(byID[it.ID], i)
		byGroup[it.Group] = append(byGroup[it.Group], i)
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	slices.Sort(names)

	reasons := make([][]string, len(items))
	order := make([]int, 0, len(items)) // item indices in plan order
	for _, g := range names {
		idx := byGroup[g]
		slices.SortStableFunc(idx, func(a, b int) int { return compareNewest(items[a], items[b]) })
		var ruled []Item // the group's items the rules see, newest first
		var at []int     // their indices in items
		for _, i := range idx {
			switch {
			case invalid:
				reasons[i] = []string{ReasonInvalidPolicy}
			case items[i].Damaged:
				reasons[i] = []string{ReasonDamaged}
			case len(byID[items[i].ID]) > 1:
				reasons[i] = []string{ReasonDuplicateID}
			default:
				ruled = append(ruled, items[i])
				at = append(at, i)
			}
		}
		rr := make([][]string, len(ruled))
		applyRules(p, ruled, loc, rr)
		for k, i := range at {
			reasons[i] = rr[k]
		}
		order = append(order, idx...)
	}

	keepBases(items, byID, order, reasons)

	plan := Plan{Groups: make([]Group, 0, len(names))}
	listed := map[string]bool{}
	for _, g := range names {
		grp := Group{Group: g, Decisions: make([]Decision, 0, len(byGroup[g]))}
		for _, i := range byGroup[g] { // sorted above
			it := items[i]
			d := Decision{ID: it.ID, Group: it.Group, Time: it.Time, Keep: len(reasons[i]) > 0, Reasons: reasons[i]}
			grp.Decisions = append(grp.Decisions, d)
			if listed[it.ID] {
				continue // an ID given twice: both are kept, list it once
			}
			listed[it.ID] = true
			if d.Keep {
				plan.Keep = append(plan.Keep, it.ID)
			} else {
				plan.Remove = append(plan.Remove, it.ID)
			}
		}
		plan.Groups = append(plan.Groups, grp)
	}
	return plan
}

// compareNewest orders items newest first, equal times by ID descending:
// negative when a comes before b.
func compareNewest(a, b Item) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// keepBases keeps every item a kept item (one with reasons) needs,
// transitively, and gives it a "base of <id>" reason for each kept item that
// names it directly, in plan order.
func keepBases(items []Item, byID map[string][]int, order []int, reasons [][]string) {
	kept := make([]bool, len(items))
	var queue []int
	for i := range items {
		if len(reasons[i]) > 0 {
			kept[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, need := range items[i].Needs {
			for _, j := range byID[need] {
				if !kept[j] {
					kept[j] = true
					queue = append(queue, j)
				}
			}
		}
	}
	for _, i := range order {
		if !kept[i] {
			continue
		}
		reason := ReasonBaseOf + items[i].ID
		dupDependant := len(byID[items[i].ID]) > 1
		seen := make(map[string]bool, len(items[i].Needs))
		for _, need := range items[i].Needs {
			if seen[need] {
				continue
			}
			seen[need] = true
			for _, j := range byID[need] {
				if j == i || (dupDependant && slices.Contains(reasons[j], reason)) {
					continue
				}
				reasons[j] = append(reasons[j], reason)
			}
		}
	}
}
