// Package progress draws the progress of a long job on a terminal: one bar
// per item being worked on (a disk read by a backup or written by a
// restore, the packs of a prune or a scrub) with bytes done of the total,
// MB/s and ETA, plus a total bar when there are several, redrawn five times
// a second. Text written meanwhile through the process's Console (log
// warnings, notes) is printed above the bars, never across them. When the
// output is not a terminal (or --progress never, --quiet, --json) it draws
// nothing at all, so that logs and pipes never see control sequences.
//
// The bars are drawn by github.com/vbauerster/mpb/v8, which handles
// several bars at once, terminal width and cursor movement; this package
// only maps labelled byte counts onto them.
//
// It must not know what the job is (a restore, a backup) or where its
// numbers come from: callers feed it labelled byte counts.
package progress
