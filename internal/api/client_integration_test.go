package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/harnesstest"
	"rb_module_rustack/internal/logging/logtest"
)

func TestHarnessConnect(t *testing.T) {
	env := harnesstest.New(t).Env
	log := &logtest.Recorder{}
	opts := harnessOptions(env, log)
	opts.Verbose = true
	ctx := testCtx(t, 60*time.Second)
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	id := c.Identity()
	if id.ProjectID != env["OS_PROJECT_ID"] || id.UserName != env["OS_USERNAME"] {
		t.Errorf("identity = %+v", id)
	}
	nova, cinder := c.Microversions()
	if nova != NovaMicroversion || cinder != CinderMicroversion {
		t.Errorf("microversions = %s %s", nova, cinder)
	}
	srvs, err := c.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range srvs {
		if s.ID == env["OS_HARNESS_PROXY_ID"] {
			found = true
			if s.FlavorID != "1" || s.FlavorName != "m1.tiny" || len(s.VolumeIDs) == 0 {
				t.Errorf("proxy server = %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("proxy %s not in list %+v", env["OS_HARNESS_PROXY_ID"], srvs)
	}
	p, err := c.GetServerAdmin(ctx, env["OS_HARNESS_PROXY_ID"])
	if err != nil {
		t.Fatal(err)
	}
	if p.Host == "" || p.InstanceName != env["OS_HARNESS_PROXY_INSTANCE_NAME"] {
		t.Errorf("admin view of proxy = %+v", p)
	}
	u, err := c.GetServer(ctx, env["OS_HARNESS_PROXY_ID"])
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "" || u.InstanceName != "" {
		t.Errorf("member sees hypervisor attributes: %+v", u)
	}
	_, err = c.GetVolume(ctx, "00000000-0000-0000-0000-000000000000")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "get volume 00000000-0000-0000-0000-000000000000: HTTP 404") {
		t.Errorf("missing volume: %v (IsNotFound %v)", err, IsNotFound(err))
	}
	for _, sec := range []string{opts.Password, opts.AdminPassword} {
		if strings.Contains(log.String(), sec) {
			t.Fatalf("a password appears in the verbose log")
		}
	}
	if log.Count("DEBUG", "POST http://127.0.0.1:5000/v3/auth/tokens -> 201") != 2 {
		t.Errorf("verbose log lacks the two token requests:\n%s", log.String())
	}
}

// TestHarnessVolumeLifecycle creates a volume, snapshots it, makes a volume
// from the snapshot, attaches that to the proxy and detaches it, then
// deletes everything, through the real Cinder and Nova.
func TestHarnessVolumeLifecycle(t *testing.T) {
	env := harnesstest.New(t).Env
	ctx := testCtx(t, 5*time.Minute)
	c, err := New(ctx, harnessOptions(env, &logtest.Recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	proxy := env["OS_HARNESS_PROXY_ID"]
	tag := fmt.Sprintf("api-test-%d", time.Now().UnixNano())
	const wait = 2 * time.Minute

	// Cleanup runs even when the test fails half-way, in dependency order.
	var volID, snapID, cloneID string
	attached := false
	t.Cleanup(func() {
		ctx := context.Background()
		if attached {
			if err := c.DetachVolume(ctx, proxy, cloneID); err == nil {
				_, _ = c.WaitVolume(ctx, cloneID, wait, "available")
			}
		}
		for _, id := range []string{cloneID} {
			if id != "" && c.DeleteVolume(ctx, id) == nil {
				_ = c.WaitVolumeDeleted(ctx, id, wait)
			}
		}
		if snapID != "" && c.DeleteSnapshot(ctx, snapID) == nil {
			_ = c.WaitSnapshotDeleted(ctx, snapID, wait)
		}
		if volID != "" && c.DeleteVolume(ctx, volID) == nil {
			_ = c.WaitVolumeDeleted(ctx, volID, wait)
		}
	})

	v, err := c.CreateVolume(ctx, VolumeCreate{Name: tag + "-src", Size: 1, Metadata: map[string]string{"test": tag}})
	if err != nil {
		t.Fatal(err)
	}
	volID = v.ID
	if v, err = c.WaitVolume(ctx, volID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if v.Size != 1 || v.Name != tag+"-src" || v.Metadata["test"] != tag {
		t.Errorf("volume %+v", v)
	}
	if err := c.SetBootable(ctx, volID, true); err != nil {
		t.Fatal(err)
	}
	if v, err = c.GetVolume(ctx, volID); err != nil || !v.Bootable {
		t.Errorf("bootable: %+v %v", v, err)
	}

	s, err := c.CreateSnapshot(ctx, SnapshotCreate{VolumeID: volID, Name: tag + "-snap", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	snapID = s.ID
	if s, err = c.WaitSnapshot(ctx, snapID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if s.VolumeID != volID || s.Size != 1 {
		t.Errorf("snapshot %+v", s)
	}
	snaps, err := c.ListSnapshots(ctx)
	if err != nil || !slices.ContainsFunc(snaps, func(x Snapshot) bool { return x.ID == snapID }) {
		t.Errorf("ListSnapshots lacks %s: %v", snapID, err)
	}

	cl, err := c.CreateVolume(ctx, VolumeCreate{Name: tag + "-clone", Size: 1, SnapshotID: snapID})
	if err != nil {
		t.Fatal(err)
	}
	cloneID = cl.ID
	if _, err = c.WaitVolume(ctx, cloneID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	vols, err := c.ListVolumes(ctx)
	if err != nil || !slices.ContainsFunc(vols, func(x Volume) bool { return x.ID == cloneID && x.SnapshotID == snapID }) {
		t.Errorf("ListVolumes lacks the clone %s: %v", cloneID, err)
	}

	a, err := c.AttachVolume(ctx, proxy, cloneID)
	if err != nil {
		t.Fatal(err)
	}
	attached = true
	if a.VolumeID != cloneID || a.ServerID != proxy {
		t.Errorf("attachment %+v", a)
	}
	if v, err = c.WaitVolume(ctx, cloneID, wait, "in-use"); err != nil {
		t.Fatal(err)
	}
	if len(v.Attachments) != 1 || v.Attachments[0].ServerID != proxy {
		t.Errorf("in-use volume attachments %+v", v.Attachments)
	}
	atts, err := c.ListAttachments(ctx, proxy)
	if err != nil || !slices.ContainsFunc(atts, func(x Attachment) bool { return x.VolumeID == cloneID }) {
		t.Errorf("ListAttachments %+v %v", atts, err)
	}
	srv, err := c.GetServer(ctx, proxy)
	if err != nil || !slices.Contains(srv.VolumeIDs, cloneID) {
		t.Errorf("server volumes %+v %v", srv, err)
	}
	byID := filepath.Join(env["OS_HARNESS_DEVICE_DIR"], "virtio-"+cloneID[:20])
	if _, err := os.Lstat(byID); err != nil {
		t.Errorf("device link of the attached volume: %v", err)
	}

	if err := c.DetachVolume(ctx, proxy, cloneID); err != nil {
		t.Fatal(err)
	}
	if _, err = c.WaitVolume(ctx, cloneID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	attached = false

	// Deleting in order, each wait bounded.
	if err := c.DeleteVolume(ctx, cloneID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitVolumeDeleted(ctx, cloneID, wait); err != nil {
		t.Fatal(err)
	}
	cloneID = ""
	if err := c.DeleteSnapshot(ctx, snapID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSnapshotDeleted(ctx, snapID, wait); err != nil {
		t.Fatal(err)
	}
	snapID = ""
	// The real API refuses to delete what does not exist, and says so.
	if err := c.DeleteSnapshot(ctx, s.ID); !IsNotFound(err) {
		t.Errorf("delete a deleted snapshot: %v", err)
	}
	if err := c.DeleteVolume(ctx, volID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitVolumeDeleted(ctx, volID, wait); err != nil {
		t.Fatal(err)
	}
	volID = ""
}

// TestHarnessBootFromVolume boots a server from a new volume with networks
// "none", waits for ACTIVE, reads it with the admin session, deletes it.
func TestHarnessBootFromVolume(t *testing.T) {
	env := harnesstest.New(t).Env
	ctx := testCtx(t, 5*time.Minute)
	c, err := New(ctx, harnessOptions(env, &logtest.Recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("api-test-%d", time.Now().UnixNano())
	const wait = 2 * time.Minute
	var volID, srvID string
	t.Cleanup(func() {
		ctx := context.Background()
		if srvID != "" && c.DeleteServer(ctx, srvID) == nil {
			_ = c.WaitServerDeleted(ctx, srvID, wait)
		}
		if volID != "" {
			_, _ = c.WaitVolume(ctx, volID, wait, "available")
			if c.DeleteVolume(ctx, volID) == nil {
				_ = c.WaitVolumeDeleted(ctx, volID, wait)
			}
		}
	})
	v, err := c.CreateVolume(ctx, VolumeCreate{Name: tag + "-boot", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	volID = v.ID
	if _, err := c.WaitVolume(ctx, volID, wait, "available"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBootable(ctx, volID, true); err != nil {
		t.Fatal(err)
	}
	fl, err := c.GetFlavor(ctx, "1")
	if err != nil || fl.Name != "m1.tiny" {
		t.Fatalf("flavor 1: %+v %v", fl, err)
	}
	s, err := c.CreateServer(ctx, ServerCreate{Name: tag, FlavorID: "1", Metadata: map[string]string{"test": tag},
		BlockDevices: []BlockDevice{{VolumeID: volID, BootIndex: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	srvID = s.ID
	if s, err = c.WaitServer(ctx, srvID, wait, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	if s.Name != tag || s.FlavorID != "1" || s.FlavorName != "m1.tiny" || s.Metadata["test"] != tag ||
		!slices.Contains(s.VolumeIDs, volID) || len(s.Networks) != 0 {
		t.Errorf("server %+v", s)
	}
	adm, err := c.GetServerAdmin(ctx, srvID)
	if err != nil || adm.Host == "" || !strings.HasPrefix(adm.InstanceName, "instance-") {
		t.Errorf("admin view %+v %v", adm, err)
	}
	if err := c.DeleteServer(ctx, srvID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitServerDeleted(ctx, srvID, wait); err != nil {
		t.Fatal(err)
	}
	srvID = ""
	if _, err := c.GetServer(ctx, s.ID); !IsNotFound(err) {
		t.Errorf("deleted server: %v", err)
	}
}
