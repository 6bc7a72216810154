package jobrecord

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestAppendBoundedAndConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jobs")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				r := Record{JobID: fmt.Sprintf("%d-%d", g, i), Job: Backup, VMID: "vm/1", Result: OK, End: time.Now()}
				if err := Append(dir, r, 25); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h, err := History(dir, "vm/1")
	if err != nil || len(h) != 25 {
		t.Fatalf("History: %d records, %v (want the newest 25 of 40)", len(h), err)
	}
	all, err := ReadAll(dir)
	if err != nil || len(all) != 1 || len(all["vm/1"]) != 25 {
		t.Fatalf("ReadAll: %v %v", all, err)
	}
	// The VM key never escapes the folder.
	if err := Append(dir, Record{Job: Prune, VMID: "../../x", Result: OK}, 5); err != nil {
		t.Fatal(err)
	}
	if h, err := History(dir, "../../x"); err != nil || len(h) != 1 {
		t.Fatalf("History(../../x): %v %v", h, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "..", "x.jsonl")); err == nil {
		t.Fatal("a record file outside the folder")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestJudge(t *testing.T) {
	var hist []Record
	for i, s := range []float64{0.02, 0.01, 0.03, 0.015} {
		hist = append(hist, Record{JobID: fmt.Sprint(i), Job: ImageBackup, Type: "incremental", Result: OK, NewIncompressibleShare: s})
	}
	hist = append(hist, Record{Job: ImageBackup, Type: "full", Result: OK, NewIncompressibleShare: 0.9})
	hist = append(hist, Record{Job: ImageBackup, Type: "incremental", Result: Failed, NewIncompressibleShare: 0.9})
	cur := Record{JobID: "x", Job: ImageBackup, Type: "incremental", Result: OK}
	for _, c := range []struct {
		share float64
		fire  bool
	}{{0.04, false}, {0.15, false}, {0.5, true}, {1, true}} {
		cur.NewIncompressibleShare = c.share
		a := Judge(hist, cur, 4, 20)
		if (a != nil) != c.fire {
			t.Errorf("share %.2f: %+v", c.share, a)
		}
		if a != nil && (a.Samples != 4 || a.Baseline != 0.0175) {
			t.Errorf("baseline %+v", a)
		}
	}
	cur.NewIncompressibleShare = 1
	if Judge(nil, cur, 4, 20) != nil || Judge(hist, cur, 0, 20) != nil {
		t.Error("fired without history or with factor 0")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"job":"backup","vm_id":"a","result":"ok"}` + "\n" + `{"job":` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range Parse(data) {
			if r.Job == "" {
				t.Fatal("record without a job")
			}
			_ = fileName(r.Key())
		}
	})
}
