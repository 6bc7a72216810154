package fileget

import (
	"testing"
)

func TestParseList(t *testing.T) {
	out := "/2/040755/0/0/.//\n/2/040755/0/0/..//\n/14/100640/1000/100/site.conf/10/\n/15/120777/0/0/link/7/\n/16/040700/0/0/a dir//\n"
	es, err := ParseList([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3 (no . and ..): %+v", len(es), es)
	}
	if e := es[0]; e.Name != "site.conf" || e.Mode != "100640" || e.Type != "file" || e.UID != 1000 || e.GID != 100 || e.Size != 10 || e.Inode != 14 {
		t.Fatalf("entry %+v", e)
	}
	if es[1].Type != "symlink" || es[2].Type != "dir" || es[2].Name != "a dir" || es[2].Size != 0 {
		t.Fatalf("entries %+v", es[1:])
	}
	for _, bad := range []string{"garbage\n", "/1/2/3/\n", "/x/040755/0/0/n//\n", "/1/99999999999/0/0/n//\n"} {
		if _, err := ParseList([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParsePartitions(t *testing.T) {
	b := []byte(`{"partitiontable":{"sectorsize":512,"partitions":[{"node":"d.img1","start":2048},{"node":"d.img3","start":4096}]}}`)
	if off, err := parsePartitions(b, 3); err != nil || off != 4096*512 {
		t.Fatalf("partition 3: %d %v", off, err)
	}
	if _, err := parsePartitions(b, 2); err == nil {
		t.Fatal("partition 2 (not in the table) found")
	}
	if _, err := parsePartitions(b, 4); err == nil {
		t.Fatal("partition 4 found")
	}
}

// FuzzParseList: the names in a listing come from the backed-up disk.
func FuzzParseList(f *testing.F) {
	f.Add([]byte("/14/100640/1000/100/site.conf/10/\n"))
	f.Add([]byte("/2/040755/0/0/.//\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ParseList(b)
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Name == "" || e.Name == "." || e.Name == ".." || e.Size < 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

// FuzzParsePartitions: sfdisk's view of an untrusted partition table.
func FuzzParsePartitions(f *testing.F) {
	f.Add([]byte(`{"partitiontable":{"sectorsize":512,"partitions":[{"start":2048}]}}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if off, err := parsePartitions(b, n); err == nil && off < 0 {
			t.Fatalf("negative offset %d", off)
		}
	})
}
