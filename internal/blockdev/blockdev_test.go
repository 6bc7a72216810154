package blockdev

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFinder(t *testing.T) {
	dir := t.TempDir()
	const vol = "0123456789abcdef0123456789"
	f := Finder{Dir: dir, SysBlock: "-"}
	ctx := context.Background()
	if _, err := f.Find(ctx, vol, 30*time.Millisecond); err == nil || !strings.Contains(err.Error(), "virtio-0123456789abcdef0123") {
		t.Fatalf("missing device: err = %v", err)
	}
	// appears while polling
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "virtio-0123456789abcdef0123"), nil, 0o600)
	}()
	p, err := f.Find(ctx, vol, 5*time.Second)
	if err != nil || filepath.Base(p) != "virtio-0123456789abcdef0123" {
		t.Fatalf("Find = %q, %v", p, err)
	}
	// scsi name
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "scsi-0QEMU_QEMU_HARDDISK_0123456789abcdef0123"), nil, 0o600)
	if p, err := (Finder{Dir: dir2, SysBlock: "-"}).Find(ctx, vol, time.Second); err != nil || !strings.Contains(p, "scsi-") {
		t.Fatalf("scsi Find = %q, %v", p, err)
	}
	// sysfs serial scan
	sys, dev := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(sys, "vdc"), 0o700)
	os.WriteFile(filepath.Join(sys, "vdc", "serial"), []byte("0123456789abcdef0123\n"), 0o600)
	os.MkdirAll(filepath.Join(sys, "vdb"), 0o700)
	os.WriteFile(filepath.Join(sys, "vdb", "serial"), []byte("other\n"), 0o600)
	os.WriteFile(filepath.Join(dev, "vdc"), nil, 0o600)
	if p, err := (Finder{Dir: t.TempDir(), SysBlock: sys, DevRoot: dev}).Find(ctx, vol, time.Second); err != nil || p != filepath.Join(dev, "vdc") {
		t.Fatalf("sysfs Find = %q, %v", p, err)
	}
	// canceled
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Find(cctx, "nope", time.Minute); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("canceled Find: %v", err)
	}
}

func TestCandidatesAndTimeoutError(t *testing.T) {
	const vol = "0123456789abcdef0123456789"
	if c := Candidates(vol); c[0] != "virtio-0123456789abcdef0123" || c[1] != "scsi-0QEMU_QEMU_HARDDISK_0123456789abcdef0123" {
		t.Fatalf("Candidates = %v", c)
	}
	_, err := Finder{Dir: t.TempDir(), SysBlock: "-", Poll: time.Millisecond}.Find(context.Background(), vol, 5*time.Millisecond)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.VolumeID != vol || nf.SysBlock != "-" {
		t.Fatalf("err = %#v", err)
	}
}

// TestDeviceFallbacks: the scsi- name and the /sys/block serial scan, and
// the order in which the names win.
func TestDeviceFallbacks(t *testing.T) {
	// scsi- name and /sys/block serial scan.
	dir := t.TempDir()
	os.MkdirAll(dir+"/byid", 0o700)
	os.MkdirAll(dir+"/sys/vdq", 0o700)
	os.MkdirAll(dir+"/dev", 0o700)
	id := "0123456789abcdefghijKLMN"
	if p := (Finder{Dir: dir + "/byid", SysBlock: dir + "/sys", DevRoot: dir + "/dev"}).Look(id); p != "" {
		t.Fatalf("found %s in an empty dir", p)
	}
	os.WriteFile(dir+"/sys/vdq/serial", []byte("0123456789abcdefghij\n"), 0o600)
	os.WriteFile(dir+"/dev/vdq", nil, 0o600)
	if p := (Finder{Dir: dir + "/byid", SysBlock: dir + "/sys", DevRoot: dir + "/dev"}).Look(id); p != dir+"/dev/vdq" {
		t.Fatalf("serial scan: %q", p)
	}
	os.WriteFile(dir+"/byid/scsi-0QEMU_QEMU_HARDDISK_0123456789abcdefghij", nil, 0o600)
	if p := (Finder{Dir: dir + "/byid", SysBlock: dir + "/sys", DevRoot: dir + "/dev"}).Look(id); !strings.HasSuffix(p, "scsi-0QEMU_QEMU_HARDDISK_0123456789abcdefghij") {
		t.Fatalf("scsi name: %q", p)
	}
	os.WriteFile(dir+"/byid/virtio-0123456789abcdefghij", nil, 0o600)
	if p := (Finder{Dir: dir + "/byid", SysBlock: dir + "/sys", DevRoot: dir + "/dev"}).Look(id); !strings.HasSuffix(p, "virtio-0123456789abcdefghij") {
		t.Fatalf("virtio name: %q", p)
	}
}
