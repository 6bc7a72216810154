package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Resource kinds recorded in a journal.
const (
	KindSnapshot   = "snapshot"
	KindVolume     = "volume"
	KindAttachment = "attachment"
	KindServer     = "server"
)

// Prefix starts the name of every cloud resource the module creates:
// "rbk-<job id>-<role>-<ref>".
const Prefix = "rbk-"

// Entry is one resource a job is about to create, has created, or is removing.
type Entry struct {
	ID      int       `json:"id"`                 // entry id, unique in the journal
	Kind    string    `json:"kind"`               // snapshot, volume, attachment, server
	Name    string    `json:"name"`               // the resource's name (for an attachment: the volume's name)
	CloudID string    `json:"cloud_id,omitempty"` // set by Created (for an attachment: the volume id)
	Server  string    `json:"server,omitempty"`   // attachment: the server the volume is attached to
	Time    time.Time `json:"time"`               // when it was recorded
}

// file is the on-disk form of a journal.
type file struct {
	Version   int       `json:"version"`
	JobID     string    `json:"job_id"`
	JobKind   string    `json:"job_kind"` // "backup", "restore", ...
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Started   time.Time `json:"started"`
	NextEntry int       `json:"next_entry"`
	Entries   []Entry   `json:"entries"`
}

// Journal is the open journal of one job. The job holds an exclusive flock
// on "<job id>.lock" for as long as the Journal is open, so a sweep in
// another process never takes the journal of a job that is still running.
// Its methods are safe for concurrent use.
type Journal struct {
	dir  string
	mu   sync.Mutex
	f    file
	lock *os.File
	done bool
}

// Dir returns the journal directory under a state directory.
func Dir(stateDir string) string { return filepath.Join(stateDir, "journal") }

// NewJobID returns a short random job id: 10 characters of [a-z0-9].
func NewJobID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// Name returns the name of a resource of a job: "rbk-<job>-<role>-<ref>",
// ref cut to its first 8 characters (e.g. "rbk-k3j9x0q2mz-snap-1f2e3d4c").
func Name(jobID, role, ref string) string {
	if len(ref) > 8 {
		ref = ref[:8]
	}
	return Prefix + jobID + "-" + role + "-" + ref
}

// JobPrefix is the name prefix every resource of jobID carries.
func JobPrefix(jobID string) string { return Prefix + jobID + "-" }

// JobOf returns the job id a resource name carries, if it has our prefix.
func JobOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return "", false
	}
	job, _, ok := strings.Cut(rest, "-")
	if !ok || !validJobID(job) {
		return "", false
	}
	return job, true
}

func validJobID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Begin creates the journal of a new job in dir (created 0700), writes it
// (0600) and takes the job's lock.
func Begin(dir, jobID, kind string) (*Journal, error) {
	if !validJobID(jobID) {
		return nil, fmt.Errorf("journal: bad job id %q (want [a-z0-9]{1,64})", jobID)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory %s: %w (check state_dir in the configuration)", dir, err)
	}
	if _, err := os.Stat(jsonPath(dir, jobID)); err == nil {
		return nil, fmt.Errorf("journal %s already exists", jsonPath(dir, jobID))
	}
	lock, err := openLock(dir, jobID)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("lock journal of job %s: %w", jobID, err)
	}
	host, _ := os.Hostname()
	j := &Journal{dir: dir, lock: lock, f: file{
		Version: 1, JobID: jobID, JobKind: kind, PID: os.Getpid(), Host: host,
		Started: time.Now().UTC(), NextEntry: 1, Entries: []Entry{},
	}}
	if err := j.write(); err != nil {
		j.release()
		return nil, err
	}
	return j, nil
}

// JobID is the id of the journal's job.
func (j *Journal) JobID() string { return j.f.JobID }

// JobKind is the kind given to Begin.
func (j *Journal) JobKind() string { return j.f.JobKind }

// Started is when the job began.
func (j *Journal) Started() time.Time { return j.f.Started }

// PID is the process id of the job that wrote the journal.
func (j *Journal) PID() int { return j.f.PID }

// Path is the journal file.
func (j *Journal) Path() string { return jsonPath(j.dir, j.f.JobID) }

// Entries returns a copy of the entries still recorded, oldest first.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.f.Entries)
}

// Record notes that a resource of kind named name is about to be created.
// Call it BEFORE the create call; it returns the entry id.
func (j *Journal) Record(kind, name string) (int, error) {
	return j.add(Entry{Kind: kind, Name: name})
}

// RecordAttachment notes that volumeID (named name) is about to be attached
// to serverID. Call it BEFORE the attach call.
func (j *Journal) RecordAttachment(serverID, volumeID, name string) (int, error) {
	return j.add(Entry{Kind: KindAttachment, Name: name, CloudID: volumeID, Server: serverID})
}

func (j *Journal) add(e Entry) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return 0, errors.New("journal: closed")
	}
	e.ID = j.f.NextEntry
	e.Time = time.Now().UTC()
	j.f.NextEntry++
	j.f.Entries = append(j.f.Entries, e)
	if err := j.write(); err != nil {
		j.f.Entries = j.f.Entries[:len(j.f.Entries)-1]
		return 0, err
	}
	return e.ID, nil
}

// Created records the cloud id of the resource of entry id.
func (j *Journal) Created(id int, cloudID string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(id)
	if i < 0 {
		return fmt.Errorf("journal: no entry %d", id)
	}
	j.f.Entries[i].CloudID = cloudID
	return j.write()
}

// Removed drops entry id: its resource is gone (or was never created).
func (j *Journal) Removed(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(id)
	if i < 0 {
		return nil
	}
	saved := j.f.Entries[i]
	j.f.Entries = slices.Delete(j.f.Entries, i, i+1)
	if err := j.write(); err != nil {
		j.f.Entries = slices.Insert(j.f.Entries, i, saved)
		return err
	}
	return nil
}

func (j *Journal) find(id int) int {
	return slices.IndexFunc(j.f.Entries, func(e Entry) bool { return e.ID == id })
}

// Done ends the job: when no entry is left the journal file is removed.
// Either way the lock is released and the Journal can no longer be used.
// A journal with entries left stays on disk for the next sweep; Done then
// reports how many entries remain.
func (j *Journal) Done() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return nil
	}
	j.done = true
	defer j.release()
	if n := len(j.f.Entries); n > 0 {
		return fmt.Errorf("journal %s keeps %d resource(s) that could not be removed; run \"rb_module_rustack cleanup\"", j.Path(), n)
	}
	if err := os.Remove(j.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	os.Remove(lockPath(j.dir, j.f.JobID))
	return syncDir(j.dir)
}

// Close releases the lock and keeps the journal file as it is (a sweep that
// could not finish uses it; the next sweep takes the journal again).
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.done {
		j.done = true
		j.release()
	}
	return nil
}

func (j *Journal) release() {
	if j.lock != nil {
		unix.Flock(int(j.lock.Fd()), unix.LOCK_UN)
		j.lock.Close()
		j.lock = nil
	}
}

// write stores the journal atomically: temp file, fsync, rename, fsync dir.
func (j *Journal) write() error {
	data, err := json.MarshalIndent(&j.f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	dst := j.Path()
	tmp, err := os.CreateTemp(j.dir, "."+j.f.JobID+".*.tmp")
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write journal %s: %w", dst, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write journal %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write journal %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write journal %s: %w", dst, err)
	}
	ok = true
	return syncDir(j.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func jsonPath(dir, job string) string { return filepath.Join(dir, job+".json") }
func lockPath(dir, job string) string { return filepath.Join(dir, job+".lock") }

func openLock(dir, job string) (*os.File, error) {
	f, err := os.OpenFile(lockPath(dir, job), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal lock: %w", err)
	}
	return f, nil
}

// List returns the journals of dead jobs in dir: those whose lock no live
// process holds. Each returned Journal holds the job's lock (so two sweeps
// never work on the same journal); the caller removes what its entries name,
// calls Removed for each, and then Done (or Close to keep it for later).
// Journals of running jobs, in this process or another, are skipped. A
// missing dir gives no journals.
func List(dir string) ([]*Journal, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*Journal
	for _, p := range names {
		job := strings.TrimSuffix(filepath.Base(p), ".json")
		if !validJobID(job) {
			continue
		}
		j, err := claim(dir, job)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		if j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// claim takes the lock of job and loads its journal; nil when the job is
// alive or its journal vanished.
func claim(dir, job string) (*Journal, error) {
	lock, err := openLock(dir, job)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil // a live job holds it
		}
		return nil, fmt.Errorf("lock journal of job %s: %w", job, err)
	}
	j := &Journal{dir: dir, lock: lock}
	data, err := os.ReadFile(jsonPath(dir, job))
	if errors.Is(err, os.ErrNotExist) {
		// The job finished between the glob and the lock.
		j.release()
		os.Remove(lockPath(dir, job))
		return nil, nil
	}
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(data)).Decode(&j.f)
	}
	if err != nil {
		j.release()
		return nil, fmt.Errorf("read journal %s: %w (move the file away if it is damaged, then check the cloud for resources named %s*)",
			jsonPath(dir, job), err, JobPrefix(job))
	}
	if j.f.JobID != job {
		j.release()
		return nil, fmt.Errorf("journal %s names job %q", jsonPath(dir, job), j.f.JobID)
	}
	if j.f.Entries == nil {
		j.f.Entries = []Entry{}
	}
	return j, nil
}
