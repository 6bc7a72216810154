package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	job := NewJobID()
	j, err := Begin(dir, job, "backup")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode: %v %v", st.Mode(), err)
	}
	fi, err := os.Stat(j.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi, err)
	}
	a, err := j.Record(KindSnapshot, Name(job, "snap", "0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := j.Record(KindVolume, Name(job, "tmp", "0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("entry ids equal: %d", a)
	}
	if err := j.Created(a, "snap-id"); err != nil {
		t.Fatal(err)
	}
	c, err := j.RecordAttachment("proxy", "vol-id", "n")
	if err != nil {
		t.Fatal(err)
	}
	// What is on disk matches memory.
	var f file
	data, _ := os.ReadFile(j.Path())
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 3 || f.Entries[0].CloudID != "snap-id" || f.Entries[2].Server != "proxy" || f.Entries[2].CloudID != "vol-id" {
		t.Fatalf("on disk: %+v", f.Entries)
	}
	if f.Entries[0].Name != "rbk-"+job+"-snap-01234567" {
		t.Fatalf("name %q", f.Entries[0].Name)
	}
	// Not empty: Done keeps the file and says so.
	for _, id := range []int{a, c} {
		if err := j.Removed(id); err != nil {
			t.Fatal(err)
		}
	}
	left := j.Entries()
	if len(left) != 1 || left[0].ID != b {
		t.Fatalf("left %+v", left)
	}
	if err := j.Done(); err == nil || !strings.Contains(err.Error(), "cleanup") {
		t.Fatalf("Done with entries: %v", err)
	}
	if _, err := os.Stat(j.Path()); err != nil {
		t.Fatalf("journal with entries removed: %v", err)
	}
	// Now a dead job: List takes it.
	dead, err := List(dir)
	if err != nil || len(dead) != 1 || dead[0].JobID() != job {
		t.Fatalf("List: %v %v", dead, err)
	}
	if got := dead[0].Entries(); len(got) != 1 || got[0].Kind != KindVolume {
		t.Fatalf("entries %+v", got)
	}
	// While the sweeper holds it, another List skips it.
	again, err := List(dir)
	if err != nil || len(again) != 0 {
		t.Fatalf("second List while claimed: %v %v", again, err)
	}
	if err := dead[0].Removed(b); err != nil {
		t.Fatal(err)
	}
	if err := dead[0].Done(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("dir not empty: %v", ents)
	}
}

func TestLiveJobNotListed(t *testing.T) {
	dir := t.TempDir()
	live, err := Begin(dir, "live1", "backup")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Record(KindVolume, "x"); err != nil {
		t.Fatal(err)
	}
	dead, err := Begin(dir, "dead1", "backup")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Record(KindVolume, "y"); err != nil {
		t.Fatal(err)
	}
	dead.Close() // as if the process died: lock gone, file kept
	got, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].JobID() != "dead1" {
		t.Fatalf("List = %v", got)
	}
	got[0].Close()
	if err := live.Removed(1); err != nil {
		t.Fatal(err)
	}
	if err := live.Done(); err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(dir, "dead1", "backup"); err == nil {
		t.Fatal("Begin over an existing journal succeeded")
	}
}

func TestEmptyDoneRemoves(t *testing.T) {
	dir := t.TempDir()
	j, err := Begin(dir, NewJobID(), "restore")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := j.Record(KindServer, "s")
	j.Removed(id)
	if err := j.Done(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.Path()); !os.IsNotExist(err) {
		t.Fatalf("journal kept: %v", err)
	}
	if _, err := j.Record(KindServer, "t"); err == nil {
		t.Fatal("Record after Done succeeded")
	}
	if got, _ := List(dir); len(got) != 0 {
		t.Fatalf("List after Done: %v", got)
	}
}

func TestConcurrentRecords(t *testing.T) {
	dir := t.TempDir()
	j, err := Begin(dir, "conc", "backup")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := j.Record(KindVolume, Name("conc", "tmp", string(rune('a'+i))))
			if err != nil {
				t.Error(err)
				return
			}
			j.Created(id, "v")
			j.Removed(id)
		}()
	}
	wg.Wait()
	if err := j.Done(); err != nil {
		t.Fatal(err)
	}
}

func TestNames(t *testing.T) {
	ids := map[string]bool{}
	for range 1000 {
		id := NewJobID()
		if len(id) != 10 || !validJobID(id) || ids[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		ids[id] = true
	}
	n := Name("abc123", "tmp", "deadbeef-0000")
	if job, ok := JobOf(n); !ok || job != "abc123" {
		t.Fatalf("JobOf(%q) = %q %v", n, job, ok)
	}
	for _, s := range []string{"web01", "rbk-", "rbk-ABC-x", "rbk-abc", "xrbk-abc-x"} {
		if _, ok := JobOf(s); ok {
			t.Fatalf("JobOf(%q) ok", s)
		}
	}
	if !strings.HasPrefix(n, JobPrefix("abc123")) {
		t.Fatal("prefix")
	}
}

func FuzzJobOf(f *testing.F) {
	f.Add("rbk-abc-snap-1")
	f.Add("rbk--")
	f.Fuzz(func(t *testing.T, s string) {
		job, ok := JobOf(s)
		if ok && !strings.HasPrefix(s, JobPrefix(job)) {
			t.Fatalf("JobOf(%q) = %q", s, job)
		}
	})
}

// FuzzList feeds arbitrary bytes as a dead job's journal: List either
// returns it with its entries or an error naming the file, never panics.
func FuzzList(f *testing.F) {
	f.Add([]byte(`{"version":1,"job_id":"abc","entries":[{"id":1,"kind":"volume","name":"rbk-abc-tmp-1"}]}`))
	f.Add([]byte(`{"job_id":"other"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "abc.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		js, err := List(dir)
		if err != nil {
			if !strings.Contains(err.Error(), "abc.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, j := range js {
			if j.JobID() != "abc" {
				t.Fatalf("job %q", j.JobID())
			}
			_ = j.Entries()
			j.Close()
		}
	})
}
