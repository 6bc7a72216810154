// Package lock takes shared and exclusive locks on a file and says who holds
// them. A backup writing to an archive pool or a dedup store holds its lock
// shared; forget, delete and prune hold it exclusive. When a lock is busy,
// the error names every live holder (command, pid, host, since when), and
// the records of dead holders are removed instead of being reported.
//
// # The lock
//
// The lock itself is flock(2) on the lock file (created 0600; its parent
// directory created 0700), LOCK_SH for Shared and LOCK_EX for Exclusive,
// tried with LOCK_NB every Poll (50 ms) until it is granted, the wait is
// over (a wait of 0 tries once) or the context ends. Every Acquire opens
// the file anew, and flock locks belong to the open file description, so
// two Acquire calls of one process exclude each other exactly as two
// processes do; the package is safe for concurrent use. The kernel drops a
// flock when the last descriptor of it is closed, which happens when its
// process dies however it dies: a dead process never blocks anyone, and
// there is nothing to break by hand. After taking the flock, Acquire checks
// that the path still names the file it locked (someone may have removed
// the lock file), and starts again when it does not.
//
// # Holder records
//
// Who holds a lock lives beside it, in the directory path+".holders"
// (created 0700): right after taking the flock, each holder writes the JSON
// of a Holder to "<host>-<pid>-<8 hex random>.json" there, through a
// temporary name starting with "." and a rename, so that a reader sees the
// whole record or none. Release removes the record before it unlocks, so a
// record never outlives its lock while its process lives. Records are only
// information: the flock is what excludes, and a stale record never blocks
// anyone. Writing the record is best effort; a lock whose record could not
// be written is held all the same and shows up as held "by a process that
// left no holder record".
//
// # Stale records
//
// A process that dies while holding a lock (killed, power cut) leaves its
// record behind. A record is stale, and is removed, when it is of this host
// (Holder.Host equals os.Hostname) and
//
//   - the boot id in Holder.Start differs from this boot's
//     (/proc/sys/kernel/random/boot_id): the machine was restarted since,
//   - or no process has that pid (or only a zombie has),
//   - or the process with that pid started at another time (field 22 of
//     /proc/PID/stat, in clock ticks since boot): the pid was reused.
//
// Holder.Start is "<boot id>:<start ticks>"; when it is empty (the holder
// could not read /proc), only the pid is checked. A record of another host
// cannot be checked from here: it is reported as such and never removed
// (on a network file system whose flock works across hosts, it may well be
// a live holder). Processes in another pid namespace that share the host
// name would be misjudged; at worst their record is removed and their lock
// reported as held by a process that left no holder record.
//
// Acquire checks records when it cannot get the lock (to name the holders)
// and after it got it (to remove the records of dead holders, so they do not
// pile up); Holders checks them for status output.
//
// # Messages
//
// When Acquire gives up, its error wraps ErrBusy (and the context's error
// when the context ended the wait) and reads, for a what of "pool /srv/pool":
//
//	pool /srv/pool is locked: held exclusive by "rb_module_rustack prune" (pid 4242 on proxy-1, since 2026-12-05 05:20:01 UTC); retry later, or wait for it with --lock-wait DURATION
//
// Several holders are listed as `held shared by "a" (...), shared by "b"
// (...) and shared by "c" (...)`; a holder of another host has
// " (on another host; cannot check from here)" after its parenthesis; a
// flock that no live record explains (a holder of an older version, or one
// between its flock and its record) reads "held by a process that left no
// holder record", or "... and by a process that left no holder record"
// after the recorded holders. After a wait longer than zero the tail is
// "; still locked after 30s; retry later, or wait longer with --lock-wait
// DURATION", and when the context ended it is "; gave up waiting: context
// canceled" (or deadline exceeded).
package lock
