// Package jobrecord keeps the results of jobs (backup, image backup,
// restore, verify, prune) in state_dir/jobs: one small file per VM with its
// newest records, rewritten under a lock with a temporary name, fsync and
// rename, so that a crash never leaves a torn file and failed jobs are
// remembered as well as good ones. It also judges a backup's share of new,
// incompressible data against the same VM's history (Judge), the sign of
// a mass encryption inside the guest.
//
// It knows nothing about the cloud, the archive format or the command line.
package jobrecord
