package restore

import (
	"testing"

	"rb_module_rustack/internal/archive"
)

// FuzzVMFromManifest: any VM description gives an error or a VM whose disks
// are those of the manifest, in a boot order Nova accepts (one boot index 0,
// the others 1, 2, ... without gaps, or -1).
func FuzzVMFromManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"name":"web","flavor":{"id":"2"},"disks":[{"label":"b","boot_index":1},{"label":"a","boot_index":0,"bootable":true}]}`), 2)
	f.Add([]byte(`{"version":1,"disks":[{"label":"a","boot_index":-1},{"label":"b","boot_index":-1,"bootable":true}]}`), 3)
	f.Add([]byte(`{"version":1,"disks":[{"label":"a","boot_index":7},{"label":"a","boot_index":0}]}`), 1)
	f.Add([]byte(``), 2)
	f.Add([]byte(`{"version":1,"disks":[{"label":"a","boot_index":0},{"label":"b","boot_index":-5}]}`), 2)
	f.Fuzz(func(t *testing.T, raw []byte, n int) {
		n = max(1, min(n, 4))
		m := &archive.Manifest{ID: "x", VM: raw}
		for i := range n {
			m.Disks = append(m.Disks, archive.Disk{Label: string(rune('a' + i)), Size: int64(i) << 20})
		}
		vm, err := ForManifest(m, nil)
		if err != nil {
			return
		}
		if len(vm.Disks) != n {
			t.Fatalf("%d disks, manifest has %d", len(vm.Disks), n)
		}
		next := 0
		for i, d := range vm.Disks {
			switch {
			case d.BootIndex >= 0 && d.BootIndex != next:
				t.Fatalf("disk %d boot index %d, want %d: %+v", i, d.BootIndex, next, vm.Disks)
			case d.BootIndex >= 0:
				next++
			case d.BootIndex != -1:
				t.Fatalf("disk %d boot index %d", i, d.BootIndex)
			}
		}
		if next == 0 || vm.Disks[0].BootIndex != 0 {
			t.Fatalf("no boot disk first: %+v", vm.Disks)
		}
		if vm.Disks[0].SizeUnits(GiB) < 1 {
			t.Fatal("volume size below 1")
		}
	})
}
