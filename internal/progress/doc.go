// Package progress draws the progress of a long job on a terminal: one
// line that is rewritten in place (bytes done of the total, percent, MB/s)
// and messages printed above it, and nothing at all when the output is not
// a terminal, so that logs and pipes never see control sequences.
//
// It must not know what the job is (a restore, a backup) or where its
// numbers come from: callers feed it labelled byte counts.
package progress
