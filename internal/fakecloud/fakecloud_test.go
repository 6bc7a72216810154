package fakecloud

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
)

const unit = 1 << 20

func newCloud(t *testing.T) *Cloud {
	t.Helper()
	// Delay is long enough that "creating" is still seen right after a
	// create on a loaded machine (1 ms was not, under go test -race).
	c, err := New(Options{Dir: t.TempDir(), Unit: unit, Delay: 50 * time.Millisecond, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

const wait = 5 * time.Second

func TestVolumeSnapshotAttachFlow(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t)
	proxy, err := c.AddServer("proxy", Disk{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("hello "), 1000)
	vm, err := c.AddServer("vm", Disk{Size: 2, Content: content}, Disk{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(vm.VolumeIDs) != 2 || vm.Host == "" || vm.InstanceName == "" {
		t.Fatalf("server %+v", vm)
	}
	if u, _ := c.GetServer(ctx, vm.ID); u.Host != "" || u.InstanceName != "" {
		t.Fatalf("user view shows admin attributes: %+v", u)
	}
	boot := vm.VolumeIDs[0]
	// in-use needs force
	if _, err := c.CreateSnapshot(ctx, api.SnapshotCreate{VolumeID: boot, Name: "s"}); err == nil {
		t.Fatal("snapshot of in-use volume without force succeeded")
	}
	snap, err := c.CreateSnapshot(ctx, api.SnapshotCreate{VolumeID: boot, Name: "s", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != "creating" {
		t.Fatalf("snapshot status %q", snap.Status)
	}
	// Changes after the snapshot do not reach it.
	f, _ := os.OpenFile(c.VolumePath(boot), os.O_WRONLY, 0)
	f.WriteAt([]byte("CHANGED"), 0)
	f.Close()
	if _, err := c.WaitSnapshot(ctx, snap.ID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVolume(ctx, boot); err == nil {
		t.Fatal("deleted an attached volume with snapshots")
	}
	vol, err := c.CreateVolume(ctx, api.VolumeCreate{Name: "tmp", SnapshotID: snap.ID, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitVolume(ctx, vol.ID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachVolume(ctx, proxy.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachVolume(ctx, proxy.ID, vol.ID); err == nil {
		t.Fatal("attached twice")
	}
	if _, err := c.WaitVolume(ctx, vol.ID, wait, "in-use"); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(c.DeviceDir(proxy.ID), DeviceName(vol.ID))
	got, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != 3*unit || !bytes.Equal(got[:len(content)], content) {
		t.Fatalf("device: %d bytes, prefix %q", len(got), got[:10])
	}
	if err := c.DeleteVolume(ctx, vol.ID); err == nil {
		t.Fatal("deleted an attached volume")
	}
	if err := c.DetachVolume(ctx, proxy.ID, proxy.VolumeIDs[0]); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("detach root: %v", err)
	}
	if err := c.DetachVolume(ctx, proxy.ID, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitVolume(ctx, vol.ID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dev); !os.IsNotExist(err) {
		t.Fatalf("link still there after detach: %v", err)
	}
	if err := c.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitVolumeDeleted(ctx, vol.ID, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVolume(ctx, vol.ID); !api.IsNotFound(err) {
		t.Fatalf("GetVolume after delete: %v", err)
	}
	if err := c.DeleteSnapshot(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSnapshotDeleted(ctx, snap.ID, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.SnapshotPath(snap.ID)); !os.IsNotExist(err) {
		t.Fatal("snapshot file kept")
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t)
	vm, _ := c.AddServer("vm", Disk{Size: 1})
	boom := errors.New("boom")
	c.Fail("GetVolume", 2, boom)
	if _, err := c.GetVolume(ctx, vm.VolumeIDs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVolume(ctx, vm.VolumeIDs[0]); !errors.Is(err, boom) {
		t.Fatalf("call 2: %v", err)
	}
	if _, err := c.GetVolume(ctx, vm.VolumeIDs[0]); err != nil {
		t.Fatal(err)
	}
	if c.Calls("GetVolume") != 3 {
		t.Fatalf("calls %d", c.Calls("GetVolume"))
	}
	// FailAfter: the volume exists though the call failed.
	c.FailAfter("CreateVolume", 1, boom)
	if _, err := c.CreateVolume(ctx, api.VolumeCreate{Name: "lost", Size: 1}); !errors.Is(err, boom) {
		t.Fatalf("FailAfter: %v", err)
	}
	found := false
	for _, v := range c.Volumes() {
		found = found || v.Name == "lost"
	}
	if !found {
		t.Fatal("FailAfter: volume not created")
	}
	// Stick: stays creating until the timeout.
	c.Stick("volume", "creating")
	v, err := c.CreateVolume(ctx, api.VolumeCreate{Name: "stuck", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitVolume(ctx, v.ID, 50*time.Millisecond, "available")
	var se *api.StatusError
	if !errors.As(err, &se) || !se.TimedOut || se.Last != "creating" {
		t.Fatalf("stuck wait: %v", err)
	}
	if err := c.DeleteVolume(ctx, v.ID); err == nil {
		t.Fatal("deleted a volume in creating")
	}
	c.Unstick("volume", "creating")
	if _, err := c.WaitVolume(ctx, v.ID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	// Break: error status fails fast.
	c.Break("volume", "creating")
	v2, _ := c.CreateVolume(ctx, api.VolumeCreate{Name: "broken", Size: 1})
	_, err = c.WaitVolume(ctx, v2.ID, wait, "available")
	if !errors.As(err, &se) || se.TimedOut || se.Last != "error" {
		t.Fatalf("broken wait: %v", err)
	}
	// Hidden devices.
	c.ClearFaults()
	c.HideDevices(true)
	proxy, _ := c.AddServer("proxy", Disk{Size: 1})
	v3, _ := c.CreateVolume(ctx, api.VolumeCreate{Name: "x", Size: 1})
	c.WaitVolume(ctx, v3.ID, wait, "available")
	c.AttachVolume(ctx, proxy.ID, v3.ID)
	if _, err := c.WaitVolume(ctx, v3.ID, wait, "in-use"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(c.DeviceDir(proxy.ID), DeviceName(v3.ID))); !os.IsNotExist(err) {
		t.Fatal("hidden device exists")
	}
	// Canceled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ListVolumes(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestCreateAndDeleteServer(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t)
	v, _ := c.CreateVolume(ctx, api.VolumeCreate{Name: "root", Size: 1})
	c.WaitVolume(ctx, v.ID, wait, "available")
	req := api.ServerCreate{Name: "new", FlavorID: "1", BlockDevices: []api.BlockDevice{{VolumeID: v.ID, BootIndex: 0}}}
	if _, err := c.CreateServer(ctx, req); err == nil || !strings.Contains(err.Error(), "not bootable") {
		t.Fatalf("boot from non-bootable: %v", err)
	}
	if err := c.SetBootable(ctx, v.ID, true); err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateServer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "BUILD" {
		t.Fatalf("status %s", s.Status)
	}
	s, err = c.WaitServer(ctx, s.ID, wait, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.VolumeIDs) != 1 {
		t.Fatalf("volumes %v", s.VolumeIDs)
	}
	if _, err := os.Lstat(filepath.Join(c.DeviceDir(s.ID), DeviceName(v.ID))); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServer(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitServerDeleted(ctx, s.ID, wait); err != nil {
		t.Fatal(err)
	}
	if vv, _ := c.GetVolume(ctx, v.ID); vv.Status != "available" || len(vv.Attachments) != 0 {
		t.Fatalf("volume after server delete: %+v", vv)
	}
}

func TestSparseCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, _ := os.Create(src)
	f.Truncate(8 << 20)
	f.WriteAt([]byte("abc"), 3<<20)
	f.WriteAt(bytes.Repeat([]byte{7}, 5000), 7<<20)
	f.Close()
	dst := filepath.Join(dir, "dst")
	if err := copySparse(dst, src, 10<<20); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if len(b) != 10<<20 || !bytes.Equal(a, b[:len(a)]) || !allZero(b[len(a):]) {
		t.Fatal("copy differs")
	}
}
