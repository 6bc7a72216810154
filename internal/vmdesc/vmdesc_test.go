package vmdesc

import (
	"strings"
	"testing"
	"time"
)

func TestDescriptionRoundTrip(t *testing.T) {
	d := &VM{
		Version: Version, ID: "vm-1", Name: "web01",
		Flavor:   Flavor{ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 1},
		Networks: []Network{{ID: "net", FixedIP: "10.0.0.5"}},
		Metadata: map[string]string{"role": "web"},
		Disks: []Disk{
			{Label: "vol-a", VolumeID: "vol-a", Size: 1, Bootable: true, BootIndex: 0},
			{Label: "vol-b", VolumeID: "vol-b", Size: 2, BootIndex: 1},
		},
		BackupTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	raw, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "web01" || len(got.Disks) != 2 || !got.Disks[0].Bootable || got.Disk("vol-b").Size != 2 ||
		got.Flavor.RAM != 2048 || got.Metadata["role"] != "web" || !got.BackupTime.Equal(d.BackupTime) {
		t.Fatalf("round trip: %+v", got)
	}
	if got.Disk("nope") != nil {
		t.Fatal("Disk(nope) != nil")
	}
}

func TestDescriptionRejects(t *testing.T) {
	for raw, want := range map[string]string{
		`{"version":2}`:                                       "not supported",
		`{"version":1,"disks":[{"label":""}]}`:                "no label",
		`{"version":1,"disks":[{"label":"a"},{"label":"a"}]}`: "repeated",
		`{"version":1,"disks":[{"label":"a","size_gib":-1}]}`: "negative",
		`[`: "decode",
	} {
		if _, err := Parse([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", raw, err, want)
		}
	}
}

func FuzzParseDescription(f *testing.F) {
	f.Add([]byte(`{"version":1,"id":"x","disks":[{"label":"a","size_gib":1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Parse(raw)
		if err != nil {
			return
		}
		again, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
