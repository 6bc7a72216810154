package archive

import (
	"context"
	"testing"
)

func TestQuickRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Options{Pool: dir, Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img := mixImage(1, 8<<20+123, 256<<10)
	disks := map[string][]byte{"vda": img, "vdb": {7}, "vdc": {}}
	s := backupDisks(t, r, "id1", Full, disks, []string{"vda", "vdb", "vdc"})
	t.Logf("%+v", s)
	restoreAll(t, r, s.ArchiveID, disks)
	rep, err := r.Verify(context.Background(), s.ArchiveID)
	if err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
