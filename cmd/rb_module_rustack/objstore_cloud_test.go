package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/harnesstest"
)

// TestHarnessSwiftStore: proxy processes back up two VMs of the harness
// into one Swift store at once while another process prunes it over and
// over; then verify --all reads every archive's data, and a VM restored
// from Swift into the cloud (--deploy) has the original disks, bit-exact.
func TestHarnessSwiftStore(t *testing.T) {
	o := newObjStore(t, "swift")
	h := harnesstest.New(t)
	env := h.Env
	bin := buildBinary(t)
	dir := t.TempDir()
	name := harnesstest.Name("swift-it-")

	vms := []*harnesstest.VM{
		h.SeedVM(t, name+"a", "1G:ext4:/usr/share/doc", "256M:random:41"),
		h.SeedVM(t, name+"b", "256M:random:42"),
	}
	want := map[string]string{}
	for _, vm := range vms {
		for _, v := range vm.Volumes {
			want[v.ID] = h.SHA256(t, v.Path)[0]
		}
	}
	if out, errOut, code := run(t, bin, "keygen", "--key-file", filepath.Join(dir, "master-key")); code != 0 {
		t.Fatalf("keygen: %d %s %s", code, out, errOut)
	}
	conf := newHarnessConf(env, dir).with(
		"device_dir", env["OS_HARNESS_DEVICE_DIR"],
		"virsh_path", env["OS_HARNESS_VIRSH"], "protocol", "ssh",
		"pool", filepath.Join(dir, "pool"),
		"store", o.loc,
		"master_key_file", filepath.Join(dir, "master-key"),
		"lock_wait", "300",
		"volume_creation_timeout", "120", "snapshot_creation_timeout", "120", "volume_attachment_timeout", "120",
	)
	cfg := conf.write(t, filepath.Join(dir, "rb.conf"))

	// Two backups, each a process of its own, and a prune loop beside them.
	archives := make([]string, len(vms))
	var wg sync.WaitGroup
	errs := make(chan error, len(vms)+1)
	for i, vm := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := run(t, bin, "backup", "-c", cfg, "--vm", vm.Name, "--type", "full", "--json")
			var sum struct{ Archive string }
			if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
				errs <- fmt.Errorf("backup of %s: exit %d\n%s\n%s", vm.Name, code, out, errOut)
				return
			}
			archives[i] = sum.Archive
		}()
	}
	stop := make(chan struct{})
	prunes := 0
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, errOut, code := run(t, bin, "prune", "-c", cfg); code != 0 {
				errs <- fmt.Errorf("prune beside the backups: exit %d\n%s", code, errOut)
				return
			}
			prunes++
		}
	}()
	wg.Wait()
	close(stop)
	pwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if prunes == 0 {
		t.Error("no prune ran beside the backups")
	}

	if out, errOut, code := run(t, bin, "verify", "-c", cfg, "--all", "--read-data-subset", "100%"); code != 0 {
		t.Fatalf("verify --all: exit %d\n%s\n%s", code, out, errOut)
	}

	// Restore the first VM from Swift into the cloud; its original still
	// exists, so the new one has the suffix -1.
	ctx := context.Background()
	cloud, err := api.New(ctx, api.Options{URL: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		Domain: env["OS_USER_DOMAIN_NAME"], ProjectID: env["OS_PROJECT_ID"], Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, bin, "restore", archives[0], "-c", cfg, "--deploy", "--json")
	var r cloudRestoreOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("restore --deploy: exit %d, output %q: %v\n%s", code, out, err, errOut)
	}
	removeRestored(t, cloud, &r)
	if code != 0 || !r.OK {
		t.Fatalf("restore --deploy from Swift: exit %d %+v\n%s", code, r, errOut)
	}
	if r.ServerName != vms[0].Name+"-1" || len(r.Volumes) != len(vms[0].Volumes) {
		t.Fatalf("restore result %+v", r)
	}
	for _, v := range r.Volumes {
		if got := h.SHA256(t, h.VolumePath(t, v.ID))[0]; got != want[v.Label] {
			t.Errorf("volume %s (disk %s) restored from Swift: sha256 %s, want %s", v.ID, v.Label, got, want[v.Label])
		}
	}
	t.Logf("2 VMs backed up into %s beside %d prunes; verify --all clean; %s restored from Swift as %s, bit-exact",
		o.loc, prunes, vms[0].Name, r.ServerName)
}
