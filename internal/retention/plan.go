package retention

import "time"

// Item is one archive as the policy sees it.
type Item struct {
	// ID names the archive; IDs are unique (an ID given to more than one
	// item makes Apply keep all of them, see Apply).
	ID string
	// Group is what a policy applies to separately, e.g. the VM id.
	Group string
	// Time is when the archive was made.
	Time time.Time
	// Needs are the IDs of the archives this one cannot be restored
	// without (its bases), possibly none: an incremental's full and the
	// incrementals before it, a differential's full.
	Needs []string
	// Damaged marks an archive that could not be read: its time and group
	// may be unknown. It is kept and takes no part in the rules.
	Damaged bool
}

// Decision is the plan for one item.
type Decision struct {
	ID    string
	Group string
	Time  time.Time // as given in the item, not converted
	Keep  bool
	// Reasons say why the item is kept, empty when it is removed; see the
	// Reason... constants and Apply for their forms.
	Reasons []string
}

// Group is the plan for one group.
type Group struct {
	Group     string
	Decisions []Decision // newest first, ties by ID descending
}

// Plan is what Apply decided.
type Plan struct {
	Groups []Group // sorted by group name
	// Keep and Remove are the IDs kept and removed, in plan order (group by
	// group, newest first), each ID once. An ID is never in both.
	Keep, Remove []string
}

// The reasons that are not a rule and a number ("last 1", "daily 3") or
// "within" and a duration ("within 14d").
const (
	// ReasonDamaged is the reason of a damaged item.
	ReasonDamaged = "damaged: kept for inspection"
	// ReasonDuplicateID is the reason of an item whose ID another item has
	// too: removing that ID could remove the wrong archive.
	ReasonDuplicateID = "duplicate id: kept for inspection"
	// ReasonInvalidPolicy is the reason of every item when the policy does
	// not pass Validate: nothing is removed.
	ReasonInvalidPolicy = "invalid policy: nothing removed"
	// ReasonBaseOf is the prefix of "base of <id>": a kept item <id> needs
	// this one.
	ReasonBaseOf = "base of "
)
