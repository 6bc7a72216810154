package lock

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Holder is the record of one holder of a lock.
type Holder struct {
	Host    string    `json:"host"`    // os.Hostname of the holder
	PID     int       `json:"pid"`     // its process id
	Start   string    `json:"start"`   // "<boot id>:<start time in clock ticks since boot>", to tell a reused pid from the same process; "" when unknown
	Since   time.Time `json:"since"`   // when the lock was taken
	Command string    `json:"command"` // what holds it, e.g. "backup vm1", "prune"
	Mode    string    `json:"mode"`    // "shared" | "exclusive"
}

// String describes the holder as Acquire's message does:
// `exclusive by "rb_module_rustack prune" (pid 4242 on proxy-1, since
// 2026-12-05 05:20:01 UTC)`, followed by " (on another host; cannot check
// from here)" for a holder of another host.
func (h Holder) String() string { return h.describe() }

func (h Holder) describe() string {
	var b strings.Builder
	if h.Mode != "" {
		b.WriteString(h.Mode)
		b.WriteString(" ")
	}
	if h.Command != "" {
		fmt.Fprintf(&b, "by %q", h.Command)
	} else {
		b.WriteString("by a process")
	}
	fmt.Fprintf(&b, " (pid %d on %s, since %s)", h.PID, h.Host, h.Since.UTC().Format("2006-01-02 15:04:05 UTC"))
	if h.Host != hostname() {
		b.WriteString(" (on another host; cannot check from here)")
	}
	return b.String()
}

// Holders returns the live holders of the lock file path, oldest first:
// the records of this host's live processes and those of other hosts
// (which cannot be checked from here; compare Holder.Host with
// os.Hostname). It removes the records of dead holders. A lock nobody has
// taken yet has no holders.
func Holders(path string) ([]Holder, error) {
	return check(path)
}

// recordDir is the directory of the holder records of the lock file path.
func recordDir(path string) string { return path + ".holders" }

// writeRecord writes h as a new record of the lock file path and returns
// its name.
func writeRecord(path string, h Holder) (string, error) {
	dir := recordDir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	base := fmt.Sprintf("%s-%d-%s.json", FileHost(h.Host), h.PID, hex.EncodeToString(rnd[:]))
	data, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	data = append(data, '\n')
	tmp := filepath.Join(dir, "."+base+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return "", err
	}
	final := filepath.Join(dir, base)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return final, nil
}

// FileHost is host made fit for a file or object name.
func FileHost(host string) string {
	b := []byte(host)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') || i == 0 && c == '.' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// check reads the records of the lock file path, removes the stale ones
// (and the temporary files of dead writers) and returns the live ones,
// oldest first. Unreadable records are skipped.
func check(path string) ([]Holder, error) {
	dir := recordDir(path)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock holders %s: %w", dir, err)
	}
	host := hostname()
	var live []Holder
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			// A temporary record: its writer died between writing and
			// renaming it when the name says this host and a dead pid.
			if h, pid, ok := parseName(strings.TrimSuffix(name[1:], ".tmp")); ok && h == FileHost(host) && !alive(pid) {
				os.Remove(p)
			}
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue // removed by its holder meanwhile, or unreadable
		}
		var h Holder
		if json.Unmarshal(data, &h) != nil {
			continue
		}
		if h.Host == host && stale(h) {
			os.Remove(p)
			continue
		}
		live = append(live, h)
	}
	slices.SortFunc(live, func(a, b Holder) int {
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Host, b.Host), cmp.Compare(a.PID, b.PID))
	})
	return live, nil
}

// parseName splits a record name "<host>-<pid>-<hex>.json".
func parseName(name string) (host string, pid int, ok bool) {
	name, ok = strings.CutSuffix(name, ".json")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return "", 0, false
	}
	name = name[:i]
	i = strings.LastIndexByte(name, '-')
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(name[i+1:])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return name[:i], pid, true
}

// stale tells whether the record h of this host is of a process that no
// longer runs: another boot, no such pid, or a pid reused by a process
// started at another time.
func stale(h Holder) bool {
	if h.PID <= 0 {
		return true
	}
	var boot, ticks string
	if h.Start != "" {
		var ok bool
		boot, ticks, ok = strings.Cut(h.Start, ":")
		if !ok {
			boot, ticks = "", ""
		}
	}
	if boot != "" && bootID() != "" && boot != bootID() {
		return true
	}
	if ticks == "" {
		return !alive(h.PID)
	}
	now, zombie, err := procStart(h.PID)
	if err != nil {
		return !alive(h.PID) // no /proc to read: the pid alone
	}
	return zombie || now != ticks
}

// Gone tells whether h is a holder of this host whose process no longer
// runs, so that its record can be removed at once. A holder of another
// host is never gone: it cannot be checked from here.
func Gone(h Holder) bool { return h.Host == hostname() && stale(h) }

// alive tells whether a process (other than a zombie) has pid.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if _, zombie, err := procStart(pid); err == nil {
		return !zombie
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// procStart reads the start time of process pid (field 22 of
// /proc/PID/stat, in clock ticks since boot) and whether it is a zombie.
func procStart(pid int) (ticks string, zombie bool, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	// so the fields start after the last ")"; state is field 3.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 22-2 {
		return "", false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return f[22-3], f[0] == "Z" || f[0] == "X", nil
}

// selfStart is this process's Holder.Start, "" when /proc cannot tell.
var selfStart = sync.OnceValue(func() string {
	ticks, _, err := procStart(os.Getpid())
	if err != nil || bootID() == "" {
		return ""
	}
	return bootID() + ":" + ticks
})

// bootID is this boot's id, "" when unknown.
var bootID = sync.OnceValue(func() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
})

// hostname is this host's name as holder records carry it.
var hostname = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
})
