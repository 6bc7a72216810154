package status

import (
	"testing"
	"time"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/jobrecord"
)

func TestBuild(t *testing.T) {
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	archives := []archive.Info{
		{VMID: "a", VMName: "web", Type: archive.Full, Created: now.Add(-50 * time.Hour), Size: 100},
		{VMID: "a", VMName: "web", Type: archive.Incremental, Created: now.Add(-10 * time.Hour), Size: 10},
		{VMID: "b", VMName: "db", Type: archive.Full, Created: now.Add(-30 * time.Hour), Size: 200},
		{VMID: "x", Type: "damaged"},
	}
	records := map[string][]jobrecord.Record{
		"a":           {{Job: jobrecord.Backup, VMID: "a", VMName: "web", Type: "incremental", Result: jobrecord.OK, End: now.Add(-10 * time.Hour), Seconds: 12, BytesStored: 9}},
		"b":           {{Job: jobrecord.Backup, VMID: "b", VMName: "db", Requested: "incremental", Result: jobrecord.Failed, Error: "boom", End: now.Add(-2 * time.Hour)}},
		"_repository": {{Job: jobrecord.Prune, Result: jobrecord.OK, End: now}},
	}
	rows := Build(archives, records, []VM{{ID: "c", Name: "new"}}, now, 26*time.Hour)
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	byID := map[string]Row{}
	for _, r := range rows {
		byID[r.VMID] = r
	}
	a, b, c := byID["a"], byID["b"], byID["c"]
	if a.Stale || a.Archives != 2 || a.LastSeconds != 12 || a.LastSize != 9 || a.AgeSeconds != 36000 || a.State() != "ok" {
		t.Errorf("a: %+v", a)
	}
	if !b.Stale || b.LastResult != jobrecord.Failed || b.LastError != "boom" || b.LastType != "incremental" || b.AgeSeconds != 30*3600 || b.State() != "STALE" {
		t.Errorf("b: %+v", b)
	}
	if !c.Stale || c.AgeSeconds != -1 || c.State() != "STALE (no good backup)" {
		t.Errorf("c: %+v", c)
	}
	if Age(-1) != "never" || Age(90000) != "1d1h" || Age(3700) != "1h1m" {
		t.Error("Age")
	}
}
