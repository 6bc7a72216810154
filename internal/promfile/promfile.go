package promfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/atomicfile"
)

// FileName is the file written in the textfile directory.
const FileName = "rb_module_rustack.prom"

// Metric names and their help, in the order they are written.
var metrics = []struct{ name, help string }{
	{"rb_job_last_run_timestamp_seconds", "End of the last job of this type for this VM, Unix time."},
	{"rb_job_last_success_timestamp_seconds", "End of the last successful job of this type for this VM, Unix time."},
	{"rb_job_last_result", "1 when the last job of this type for this VM succeeded, 0 when it failed."},
	{"rb_job_last_duration_seconds", "Duration of the last job of this type for this VM."},
	{"rb_job_last_read_bytes", "Bytes read by the last job of this type for this VM (all disks)."},
	{"rb_job_last_new_bytes", "Bytes of chunks the last backup found new (before compression)."},
	{"rb_job_last_stored_bytes", "Bytes the last backup wrote (compressed, encrypted)."},
	{"rb_job_last_anomaly", "1 when the last backup's new incompressible share was flagged as a possible mass encryption."},
}

// Series is the values of one VM and job type. Names are the metric names
// above; a name absent from Values keeps the value the file had (so a
// failed job keeps the last success timestamp).
type Series struct {
	VMID, VMName, JobType string
	Values                map[string]float64
}

func (s Series) key() string { return s.VMID + "\x00" + s.JobType }

// Update merges s into dir/FileName.
func Update(dir string, s Series) error {
	if s.VMID == "" || s.JobType == "" {
		return errors.New("prometheus textfile: series without vm_id or job_type")
	}
	lk, err := os.OpenFile(filepath.Join(dir, "."+FileName+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("prometheus textfile: %w", err)
	}
	defer lk.Close()
	if err := unix.Flock(int(lk.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("prometheus textfile: lock: %w", err)
	}
	path := filepath.Join(dir, FileName)
	all := map[string]*Series{}
	if data, err := os.ReadFile(path); err == nil {
		all = Parse(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("prometheus textfile: %w", err)
	}
	cur, ok := all[s.key()]
	if !ok {
		cur = &Series{VMID: s.VMID, JobType: s.JobType, Values: map[string]float64{}}
		all[s.key()] = cur
	}
	cur.VMName = s.VMName
	for k, v := range s.Values {
		cur.Values[k] = v
	}
	// 0644: readable by the collector.
	if err := atomicfile.Write(path, Format(all), 0o644); err != nil {
		return fmt.Errorf("prometheus textfile: %w", err)
	}
	return nil
}

// Format writes the series in the text format, sorted.
func Format(all map[string]*Series) []byte {
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, m := range metrics {
		header := false
		for _, k := range keys {
			s := all[k]
			v, ok := s.Values[m.name]
			if !ok {
				continue
			}
			if !header {
				fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", m.name, m.help, m.name)
				header = true
			}
			fmt.Fprintf(&b, "%s{vm_id=%s,vm_name=%s,job_type=%s} %s\n", m.name,
				quote(s.VMID), quote(s.VMName), quote(s.JobType), strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return b.Bytes()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// known says whether name is one of this package's metrics.
func known(name string) bool {
	for _, m := range metrics {
		if m.name == name {
			return true
		}
	}
	return false
}

// Parse reads the series of a file this package wrote. Lines it does not
// understand (comments, other metrics, damaged lines) are skipped.
func Parse(data []byte) map[string]*Series {
	all := map[string]*Series{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		name, labels, value, ok := parseLine(sc.Text())
		if !ok || !known(name) || labels["vm_id"] == "" || labels["job_type"] == "" {
			continue
		}
		s := Series{VMID: labels["vm_id"], VMName: labels["vm_name"], JobType: labels["job_type"]}
		cur, ok := all[s.key()]
		if !ok {
			s.Values = map[string]float64{}
			cur = &s
			all[s.key()] = cur
		}
		cur.Values[name] = value
	}
	return all
}

// parseLine reads `name{k="v",...} value`.
func parseLine(line string) (string, map[string]string, float64, bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	i := strings.IndexByte(line, '{')
	if i <= 0 {
		return "", nil, 0, false
	}
	name, rest := line[:i], line[i+1:]
	labels := map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " ,")
		if strings.HasPrefix(rest, "}") {
			rest = rest[1:]
			break
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
			return "", nil, 0, false
		}
		key := strings.TrimSpace(rest[:eq])
		rest = rest[eq+2:]
		var v strings.Builder
		closed := false
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) {
				j++
				switch rest[j] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(rest[j])
				}
				continue
			}
			if c == '"' {
				rest = rest[j+1:]
				closed = true
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return "", nil, 0, false
		}
		labels[key] = v.String()
	}
	f := strings.Fields(rest)
	if len(f) < 1 {
		return "", nil, 0, false
	}
	val, err := strconv.ParseFloat(f[0], 64)
	if err != nil || math.IsNaN(val) {
		return "", nil, 0, false
	}
	return name, labels, val, true
}
