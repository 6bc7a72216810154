package restore

import (
	"strings"
	"testing"
	"time"
)

func TestFreeName(t *testing.T) {
	cases := []struct {
		base  string
		taken []string
		want  string
	}{
		{"web01", nil, "web01"},
		{"web01", []string{"web02", "web01-1"}, "web01"},
		{"web01", []string{"web01"}, "web01-1"},
		{"web01", []string{"web01", "web01-1"}, "web01-2"},
		{"web01", []string{"web01", "web01-2"}, "web01-1"},
		{"web01", []string{"web01", "web01-1", "web01-2", "web01-3"}, "web01-4"},
		{"web01", []string{"WEB01"}, "web01"},
		{"db-1", []string{"db-1", "db-1-1"}, "db-1-2"},
	}
	for _, c := range cases {
		if got := freeName(c.base, c.taken); got != c.want {
			t.Errorf("freeName(%q, %q) = %q, want %q", c.base, c.taken, got, c.want)
		}
	}
}

func TestVolumeNames(t *testing.T) {
	if got := VolumeName("web01-1", "vda"); got != "web01-1-vda" {
		t.Errorf("volumeName = %q", got)
	}
	if got := safeLabel("a/b c"); got != "a-b-c" {
		t.Errorf("safeLabel = %q", got)
	}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if got := SingleVolumeName("web01", "vdb", now); got != "web01-vdb-restored-20260304-050607" {
		t.Errorf("singleVolumeName = %q", got)
	}
	if got := SingleVolumeName("", "", now); !strings.HasPrefix(got, "vm-disk-restored-") {
		t.Errorf("singleVolumeName with empty parts = %q", got)
	}
}

func TestNormalizeBootOrder(t *testing.T) {
	cases := []struct {
		name string
		in   []Disk
		want []string // label:bootindex in order
	}{
		{"recorded", []Disk{{Label: "b", BootIndex: 1}, {Label: "a", BootIndex: 0}, {Label: "c", BootIndex: -1}},
			[]string{"a:0", "b:1", "c:-1"}},
		{"gaps", []Disk{{Label: "a", BootIndex: 0}, {Label: "b", BootIndex: 5}, {Label: "c", BootIndex: 2}},
			[]string{"a:0", "c:1", "b:2"}},
		{"no boot index, bootable", []Disk{{Label: "a", BootIndex: -1}, {Label: "b", BootIndex: -1, Bootable: true}},
			[]string{"b:0", "a:-1"}},
		{"nothing recorded", []Disk{{Label: "x", BootIndex: -1, Device: "/dev/vdb"}, {Label: "y", BootIndex: -1, Device: "/dev/vda"}},
			[]string{"y:0", "x:-1"}},
		{"two zeros", []Disk{{Label: "a", BootIndex: 0}, {Label: "b", BootIndex: 0}},
			[]string{"a:0", "b:1"}},
	}
	for _, c := range cases {
		vm := &VM{Disks: append([]Disk(nil), c.in...)}
		vm.Normalize()
		var got []string
		for _, d := range vm.Disks {
			got = append(got, d.Label+":"+itoa(d.BootIndex))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	return string(rune('0' + i))
}

func TestSizeUnits(t *testing.T) {
	cases := []struct {
		d    Disk
		want int
	}{
		{Disk{Bytes: GiB, SizeGiB: 1}, 1},
		{Disk{Bytes: GiB + 1, SizeGiB: 1}, 2},
		{Disk{Bytes: 256 << 20, SizeGiB: 0}, 1},
		{Disk{Bytes: 256 << 20, SizeGiB: 5}, 5},
		{Disk{Bytes: 0}, 1},
	}
	for _, c := range cases {
		if got := c.d.SizeUnits(GiB); got != c.want {
			t.Errorf("SizeUnits(%+v) = %d, want %d", c.d, got, c.want)
		}
	}
}
