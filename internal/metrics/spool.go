package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"rb_module_rustack/internal/atomicfile"
)

// The spool is a directory of files NAME.lp, each holding the lines one
// process could not deliver, after a header line "# precision=P". A
// process takes a file over by renaming it to NAME.lp.claimed-PID (a rename
// is atomic, so two processes never take the same file); once its points
// are delivered or written to a new spool file, it removes the claimed
// file. Claimed files of a process that no longer runs are taken over
// again. A crash between writing the new file and removing the claimed one
// sends those points twice, which InfluxDB stores once (same series, same
// timestamp).

const (
	spoolExt   = ".lp"
	claimedTag = ".claimed-"
)

// claimSpool takes over every spool file of dir and returns their lines
// (converted to precision), oldest file first, and the claimed paths.
func claimSpool(dir, precision string, warn func(string, ...any)) ([]string, []string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			warn("metrics: read spool %s: %v", dir, err)
		}
		return nil, nil
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, spoolExt) {
			names = append(names, n)
			continue
		}
		if i := strings.Index(n, spoolExt+claimedTag); i > 0 {
			pid, err := strconv.Atoi(n[i+len(spoolExt+claimedTag):])
			if err == nil && !alive(pid) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names) // names start with a sortable time
	var lines, claimed []string
	for _, n := range names {
		base := n
		if i := strings.Index(n, claimedTag); i > 0 {
			base = n[:i]
		}
		to := filepath.Join(dir, base+claimedTag+strconv.Itoa(os.Getpid()))
		if err := os.Rename(filepath.Join(dir, n), to); err != nil {
			continue // another process took it
		}
		data, err := os.ReadFile(to)
		if err != nil {
			warn("metrics: read spool file %s: %v", to, err)
			continue
		}
		claimed = append(claimed, to)
		lines = append(lines, parseSpool(data, precision)...)
	}
	return lines, claimed
}

// alive says whether process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// parseSpool returns a spool file's lines, their timestamps converted from
// the file's precision to precision. Blank lines and comments are skipped.
func parseSpool(data []byte, precision string) []string {
	from := precision
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "#") {
			if p, ok := strings.CutPrefix(l, "# precision="); ok {
				from = p
			}
			continue
		}
		lines = append(lines, convertTimestamp(l, from, precision))
	}
	return lines
}

// unitNanos is the length of a timestamp unit in nanoseconds.
var unitNanos = map[string]int64{"ns": 1, "u": 1e3, "ms": 1e6, "s": 1e9}

// convertTimestamp rewrites the trailing timestamp of line from one
// precision to another; a line without one is returned as it is.
func convertTimestamp(line, from, to string) string {
	f, t := unitNanos[from], unitNanos[to]
	if f == 0 || t == 0 || f == t {
		return line
	}
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return line
	}
	ts, err := strconv.ParseInt(line[i+1:], 10, 64)
	if err != nil {
		return line
	}
	var n int64
	if f > t {
		n = ts * (f / t)
	} else {
		n = ts / (t / f)
	}
	return line[:i+1] + strconv.FormatInt(n, 10)
}

// writeSpool writes lines to a new spool file (temporary name, fsync,
// rename), then removes the oldest files until the spool holds at most
// limit bytes. It returns the lines kept and the lines dropped.
func writeSpool(dir, precision string, lines []string, limit int64, warn func(string, ...any)) (kept, dropped int) {
	if len(lines) > 0 {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			warn("metrics: spool %s: %v; %d point(s) lost", dir, err, len(lines))
			return 0, len(lines)
		}
		header := "# precision=" + precision + "\n"
		// Keep the newest lines that fit.
		size, first := int64(len(header)), len(lines)
		for first > 0 && size+int64(len(lines[first-1])+1) <= limit {
			first--
			size += int64(len(lines[first]) + 1)
		}
		dropped += first
		lines = lines[first:]
		if len(lines) > 0 {
			var b strings.Builder
			b.WriteString(header)
			for _, l := range lines {
				b.WriteString(l)
				b.WriteByte('\n')
			}
			name := fmt.Sprintf("%s-%d%s", time.Now().UTC().Format("20060102T150405.000000000"), os.Getpid(), spoolExt)
			if err := atomicfile.Write(filepath.Join(dir, name), []byte(b.String()), 0o600); err != nil {
				warn("metrics: spool: %v; %d point(s) lost", err, len(lines))
				return 0, dropped + len(lines)
			}
			kept = len(lines)
		}
	}
	// Bound the whole spool: drop the oldest files.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return kept, dropped
	}
	type file struct {
		name string
		size int64
	}
	var files []file
	var total int64
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), spoolExt) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), fi.Size()})
			total += fi.Size()
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	for _, f := range files {
		if total <= limit {
			break
		}
		p := filepath.Join(dir, f.name)
		n := 0
		if data, err := os.ReadFile(p); err == nil {
			n = len(parseSpool(data, precision))
		}
		if os.Remove(p) == nil {
			total -= f.size
			dropped += n
			warn("metrics: spool over influxdb_spool_size (%d bytes): dropped %s (%d point(s))", limit, f.name, n)
		}
	}
	return kept, dropped
}
