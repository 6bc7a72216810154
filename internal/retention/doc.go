// Package retention decides which backup archives a retention policy keeps,
// with the semantics of restic's "forget" and Proxmox Backup Server's prune.
//
// A Policy holds the keep rules: the newest N (Last), the newest archive of
// each of the last N hours, days, ISO weeks, months and years (Hourly ...
// Yearly), and every archive within a calendar Duration of the group's newest
// archive (Within). Apply runs the rules over each group of archives (a VM's
// archives, say) and returns a Plan: for every archive whether it is kept and
// why. An archive that a kept archive needs (the full and incrementals under
// an incremental, the full under a differential) is kept too, so a plan never
// removes what a kept archive cannot be restored without; archives that could
// not be read are always kept, for inspection. Dependants answers the
// opposite question for a delete: which archives need the ones to remove.
//
// Hours, days, weeks, months and years are counted on the wall clock of the
// time zone the caller passes; the same instants can fall into different days
// in different zones.
//
// The package uses only the standard library and does no I/O: it neither
// reads the archives nor removes them. Its errors are written for the
// operator and name the flags (--keep-daily, ...) a policy is given with.
package retention
