// Package status builds the status report: per VM the last backup (time,
// type, result, duration, size), the newest good one and its age, from the
// archives of a pool or store and the job records of state_dir, and flags
// the VMs whose newest good backup is too old.
//
// It reads nothing itself: the caller gives the archive list, the records
// and, optionally, the project's VMs.
package status
