package mount

import (
	"slices"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
44 26 0:39 / /tmp/a\040b ro,nosuid,nodev,relatime - fuse.rb_module_rustack vm-1 ro,user_id=0
45 26 0:40 / /mnt/x ro,nosuid - fuse.sshfs host: ro
46 26 0:41 / /mnt/y ro shared:3 master:2 - fuse.rb_module_rustack vm-2 ro
`
	got := ParseMountinfo([]byte(in), FSType)
	if want := []string{"/tmp/a b", "/mnt/y"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(`44 26 0:39 / /tmp/a\040b ro - fuse.rb_module_rustack vm-1 ro` + "\n"))
	f.Add([]byte(`\0`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mp := range ParseMountinfo(b, FSType) {
			if mp == "" || len(mp) > len(b) {
				t.Fatalf("mount point %q out of %q", mp, b)
			}
		}
	})
}
