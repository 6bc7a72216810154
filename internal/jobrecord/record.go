package jobrecord

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rb_module_rustack/internal/atomicfile"
)

// Job kinds.
const (
	Backup      = "backup"
	ImageBackup = "image_backup"
	Restore     = "restore"
	Verify      = "verify"
	Prune       = "prune"
)

// Results.
const (
	OK       = "ok"
	Failed   = "failed"
	Canceled = "canceled"
)

// RepositoryKey is the key of the records of jobs that concern no single
// VM (prune, verify --all).
const RepositoryKey = "_repository"

// Record is one finished job.
type Record struct {
	JobID       string    `json:"job_id"`
	Job         string    `json:"job"` // backup, image_backup, restore, verify, prune
	Host        string    `json:"host,omitempty"`
	VMID        string    `json:"vm_id,omitempty"`
	VMName      string    `json:"vm_name,omitempty"`
	Archive     string    `json:"archive,omitempty"`
	Requested   string    `json:"requested_type,omitempty"`
	Type        string    `json:"type,omitempty"` // the type made
	Result      string    `json:"result"`         // ok, failed, canceled
	ErrorClass  string    `json:"error_class,omitempty"`
	Error       string    `json:"error,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Seconds     float64   `json:"seconds"`
	BytesRead   int64     `json:"bytes_read"`
	BytesZero   int64     `json:"bytes_zero"`
	BytesNew    int64     `json:"bytes_new"`
	BytesStored int64     `json:"bytes_stored"`
	Chunks      int       `json:"chunks"`
	NewChunks   int       `json:"new_chunks"`
	ReadSeconds float64   `json:"read_seconds"`
	Disks       []Disk    `json:"disks,omitempty"`
	// NewIncompressibleShare is BytesStored over the non-zero bytes read:
	// near 0 for an incremental of a quiet VM, near 1 when most of the
	// disk was rewritten with data that does not compress.
	NewIncompressibleShare float64  `json:"new_incompressible_share"`
	Anomaly                *Anomaly `json:"anomaly,omitempty"`
}

// Disk is one disk of a backup.
type Disk struct {
	Label       string  `json:"label"`
	Size        int64   `json:"size"`
	ReadSeconds float64 `json:"read_seconds"`
}

// Key is the VM key of r: its VM id, else its name, else RepositoryKey.
func (r *Record) Key() string {
	switch {
	case r.VMID != "":
		return r.VMID
	case r.VMName != "":
		return r.VMName
	}
	return RepositoryKey
}

// Share is the new incompressible share of a backup's counts.
func Share(read, zero, stored int64) float64 {
	if data := read - zero; data > 0 {
		return min(1, float64(stored)/float64(data))
	}
	return 0
}

// Dir is the records folder of a state_dir.
func Dir(stateDir string) string { return filepath.Join(stateDir, "jobs") }

// fileName maps a VM key to a file name: letters, digits, '-', '_' and
// '.' stay, every other byte is %XX (so no key escapes the folder).
func fileName(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + ".jsonl"
}

// Append adds r to its VM's file in dir, keeping the newest keep records.
// Concurrent appends (several processes) are serialized by a lock file.
func Append(dir string, r Record, keep int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("job records: %w", err)
	}
	lk, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("job records: %w", err)
	}
	defer lk.Close()
	if err := unix.Flock(int(lk.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("job records: lock %s: %w", lk.Name(), err)
	}
	defer unix.Flock(int(lk.Fd()), unix.LOCK_UN) //nolint:errcheck // released at close anyway
	path := filepath.Join(dir, fileName(r.Key()))
	var recs []Record
	if data, err := os.ReadFile(path); err == nil {
		recs = Parse(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("job records: %w", err)
	}
	recs = append(recs, r)
	if keep > 0 && len(recs) > keep {
		recs = recs[len(recs)-keep:]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, x := range recs {
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("job records: %w", err)
		}
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("job records: %w", err)
	}
	return nil
}

// Parse reads the records of one file, skipping lines that do not decode.
func Parse(data []byte) []Record {
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Job != "" {
			recs = append(recs, r)
		}
	}
	return recs
}

// ReadAll returns every VM's records, oldest first, by VM key. A missing
// folder is no records.
func ReadAll(dir string) (map[string][]Record, error) {
	out := map[string][]Record{}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("job records: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".jsonl") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("job records: %w", err)
		}
		for _, r := range Parse(data) {
			out[r.Key()] = append(out[r.Key()], r)
		}
	}
	for k := range out {
		sort.SliceStable(out[k], func(i, j int) bool { return out[k][i].End.Before(out[k][j].End) })
	}
	return out, nil
}

// History returns the records of one VM key, oldest first.
func History(dir, key string) ([]Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, fileName(key)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("job records: %w", err)
	}
	return Parse(data), nil
}
