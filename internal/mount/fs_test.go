package mount

import (
	"os"
	"strings"
	"testing"
)

func TestNotMounted(t *testing.T) {
	dm := "device-mapper is not available"
	if _, err := os.Stat(dmControl); err == nil {
		dm = "activate them by hand"
	}
	for _, c := range []struct{ typ, part, want string }{
		{"ext4", "83", ""},
		{"xfs", "", ""},
		{"vfat", "c", ""},
		{"LVM2_member", "8e", dm},
		{"LVM2_member", "83", dm},
		{"", "8e", "an LVM partition without a physical volume label"},
		{"", "E6D6D379-F507-44C2-A23C-238F2A3DF928", "an LVM partition without"},
		{"", "83", "no file system recognised"},
		{"swap", "82", "swap is not mounted (--fs mounts ext2/3/4, xfs and vfat)"},
		{"btrfs", "83", "btrfs is not mounted"},
	} {
		got := notMounted(c.typ, c.part)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("notMounted(%q, %q) = %q, want %q", c.typ, c.part, got, c.want)
		}
	}
	if !strings.Contains(mountOptions["xfs"], "norecovery") || !strings.Contains(mountOptions["xfs"], "nouuid") {
		t.Errorf("xfs is mounted with %q: want norecovery and nouuid", mountOptions["xfs"])
	}
}
