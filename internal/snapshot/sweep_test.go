package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/journal"
)

// killedJob leaves what a job killed at the worst moments leaves: a
// snapshot it recorded, a temporary volume created but never recorded
// with its id, attached to the proxy, and a volume with its prefix that
// the journal does not know at all.
func killedJob(t *testing.T, e *env, job string) {
	t.Helper()
	ctx := context.Background()
	jr, err := journal.Begin(e.jdir, job, "backup")
	if err != nil {
		t.Fatal(err)
	}
	src := e.vm.VolumeIDs[0]
	sname := journal.Name(job, "snap", src)
	sid, _ := jr.Record(journal.KindSnapshot, sname)
	s, err := e.c.CreateSnapshot(ctx, api.SnapshotCreate{VolumeID: src, Name: sname, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	jr.Created(sid, s.ID)
	if _, err := e.c.WaitSnapshot(ctx, s.ID, time.Second, "available"); err != nil {
		t.Fatal(err)
	}
	vname := journal.Name(job, "tmp", src)
	jr.Record(journal.KindVolume, vname) // killed before Created
	v, err := e.c.CreateVolume(ctx, api.VolumeCreate{Name: vname, SnapshotID: s.ID, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	e.c.WaitVolume(ctx, v.ID, time.Second, "available")
	jr.RecordAttachment(e.proxy.ID, v.ID, vname)
	e.c.AttachVolume(ctx, e.proxy.ID, v.ID)
	if _, err := e.c.WaitVolume(ctx, v.ID, time.Second, "in-use"); err != nil {
		t.Fatal(err)
	}
	x, _ := e.c.CreateVolume(ctx, api.VolumeCreate{Name: journal.Name(job, "tmp", "unrecorded"), Size: 1})
	e.c.WaitVolume(ctx, x.ID, time.Second, "available")
	jr.Close() // the process dies: the lock goes, the journal stays
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	killedJob(t, e, "dead1")

	// A job still running: its resources must not be touched.
	live, err := journal.Begin(e.jdir, "live1", "backup")
	if err != nil {
		t.Fatal(err)
	}
	lname := journal.Name("live1", "snap", e.vm.VolumeIDs[1])
	lid, _ := live.Record(journal.KindSnapshot, lname)
	ls, _ := e.c.CreateSnapshot(ctx, api.SnapshotCreate{VolumeID: e.vm.VolumeIDs[1], Name: lname, Force: true})
	live.Created(lid, ls.ID)

	// A volume with our prefix and no journal here (another proxy's job).
	other, _ := e.c.CreateVolume(ctx, api.VolumeCreate{Name: journal.Name("otherjob", "tmp", "x"), Size: 1})

	// First sweep: DeleteVolume keeps failing; the journal stays.
	e.c.Fail("DeleteVolume", 0, errors.New("503"))
	o := SweepOptions{Timeouts: Timeouts{Snapshot: time.Second, Volume: time.Second, Attach: time.Second}, Log: e.log}
	removed, err := Sweep(ctx, e.c, e.jdir, o)
	if err == nil {
		t.Fatal("sweep with failing deletes succeeded")
	}
	if _, err := os.Stat(filepath.Join(e.jdir, "dead1.json")); err != nil {
		t.Fatalf("journal of the failed sweep: %v", err)
	}
	e.c.ClearFaults()

	more, err := Sweep(ctx, e.c, e.jdir, o)
	if err != nil {
		t.Fatal(err)
	}
	removed = append(removed, more...)
	kinds := map[string]int{}
	for _, r := range removed {
		kinds[r.Kind]++
		if r.Job != "dead1" {
			t.Errorf("removed a resource of job %s: %+v", r.Job, r)
		}
	}
	if kinds[journal.KindVolume] != 2 || kinds[journal.KindSnapshot] != 1 {
		t.Errorf("removed %+v", removed)
	}
	if _, err := os.Stat(filepath.Join(e.jdir, "dead1.json")); !os.IsNotExist(err) {
		t.Errorf("dead journal kept: %v", err)
	}
	if _, err := e.c.GetSnapshot(ctx, ls.ID); err != nil {
		t.Errorf("the live job's snapshot was touched: %v", err)
	}
	if _, err := e.c.GetVolume(ctx, other.ID); err != nil {
		t.Errorf("another proxy's volume was touched: %v", err)
	}
	// The live job ends normally.
	e.c.DeleteSnapshot(ctx, ls.ID)
	e.c.WaitSnapshotDeleted(ctx, ls.ID, time.Second)
	live.Removed(lid)
	if err := live.Done(); err != nil {
		t.Fatal(err)
	}
	e.c.DeleteVolume(ctx, other.ID)
	e.c.WaitVolumeDeleted(ctx, other.ID, time.Second)
	e.assertClean(t)
}

// TestBackupSweepsFirst: the next backup (through the CLI) sweeps; here
// Sweep followed by Run leaves nothing of either job.
func TestSweepThenRun(t *testing.T) {
	e := newEnv(t)
	killedJob(t, e, "dead2")
	if _, err := Sweep(context.Background(), e.c, e.jdir, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), e.options())
	if err != nil {
		t.Fatal(err)
	}
	e.assertBackup(t, res)
	e.assertClean(t)
}
