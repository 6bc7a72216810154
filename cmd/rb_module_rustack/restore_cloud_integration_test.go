package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/harnesstest"
)

// cloudRestoreOut is the --json output of restore --deploy / --volume-only.
type cloudRestoreOut struct {
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
	ServerID   string `json:"server_id"`
	ServerName string `json:"server_name"`
	Volumes    []struct {
		Label     string `json:"label"`
		ID        string `json:"id"`
		Name      string `json:"name"`
		Bootable  bool   `json:"bootable"`
		BootIndex int    `json:"boot_index"`
	} `json:"volumes"`
	Notes []string `json:"notes"`
	Bytes int64    `json:"bytes"`
}

// TestHarnessRestoreCLI backs up a seeded VM with the binary and restores it
// with the binary: --deploy, --volume-only, and failures that must leave
// nothing behind.
func TestHarnessRestoreCLI(t *testing.T) {
	h := harnesstest.New(t)
	env := h.Env
	bin := buildBinary(t)
	dir := t.TempDir()
	name := harnesstest.Name("restore-cli-")

	vm := h.SeedVM(t, name, "1G:ext4:/usr/share/doc", "256M:random:11")
	want := map[string]string{}
	for _, v := range vm.Volumes {
		want[v.ID] = h.SHA256(t, v.Path)[0]
	}

	ctx := context.Background()
	cloud, err := api.New(ctx, api.Options{URL: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		Domain: env["OS_USER_DOMAIN_NAME"], ProjectID: env["OS_PROJECT_ID"], Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	remove := func(out *cloudRestoreOut) { removeRestored(t, cloud, out) }

	if out, errOut, code := run(t, bin, "keygen", "--key-file", filepath.Join(dir, "master-key")); code != 0 {
		t.Fatalf("keygen: %d %s %s", code, out, errOut)
	}
	conf := newHarnessConf(env, dir).with(
		"device_dir", env["OS_HARNESS_DEVICE_DIR"],
		"virsh_path", env["OS_HARNESS_VIRSH"], "protocol", "ssh",
		"pool", filepath.Join(dir, "pool"),
		"master_key_file", filepath.Join(dir, "master-key"),
		"volume_creation_timeout", "120", "snapshot_creation_timeout", "120", "volume_attachment_timeout", "120",
	)
	cfg := conf.write(t, filepath.Join(dir, "rb.conf"))
	var transcript strings.Builder
	runT := func(args ...string) (string, string, int) {
		out, errOut, code := run(t, bin, args...)
		transcript.WriteString(out + errOut)
		return out, errOut, code
	}

	out, errOut, code := runT("backup", "-c", cfg, "--vm", name, "--type", "full", "--json")
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum struct{ Archive string }
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}

	// --deploy while the original exists.
	out, errOut, code = runT("restore", sum.Archive, "-c", cfg, "--deploy", "--json")
	var r1 cloudRestoreOut
	if err := json.Unmarshal([]byte(out), &r1); err != nil {
		t.Fatalf("restore --deploy: exit %d, output %q: %v\n%s", code, out, err, errOut)
	}
	remove(&r1)
	if code != 0 || !r1.OK {
		t.Fatalf("restore --deploy: exit %d %+v\n%s", code, r1, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet the restore printed %q", errOut)
	}
	if r1.ServerName != name+"-1" || len(r1.Volumes) != 2 || r1.Volumes[0].Label != vm.Volumes[0].ID || !r1.Volumes[0].Bootable {
		t.Fatalf("result %+v", r1)
	}
	s, err := cloud.GetServer(ctx, r1.ServerID)
	if err != nil || s.Status != "ACTIVE" {
		t.Fatalf("server %+v %v", s, err)
	}
	for _, v := range r1.Volumes {
		if got := h.SHA256(t, h.VolumePath(t, v.ID))[0]; got != want[v.Label] {
			t.Errorf("volume %s (disk %s): sha256 %s, want %s", v.ID, v.Label, got, want[v.Label])
		}
	}

	// --volume-only, human output.
	data := vm.Volumes[1].ID
	out, errOut, code = runT("restore", sum.Archive, "-c", cfg, "--volume-only", "--disk", data, "--skip-zero-writes")
	if code != 0 {
		t.Fatalf("restore --volume-only: exit %d\n%s\n%s", code, out, errOut)
	}
	var volID string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "volume" {
			volID = f[2]
		}
	}
	r2 := &cloudRestoreOut{Volumes: []struct {
		Label     string `json:"label"`
		ID        string `json:"id"`
		Name      string `json:"name"`
		Bootable  bool   `json:"bootable"`
		BootIndex int    `json:"boot_index"`
	}{{ID: volID}}}
	remove(r2)
	v, err := cloud.GetVolume(ctx, volID)
	if err != nil {
		t.Fatalf("volume %q from output %q: %v", volID, out, err)
	}
	if v.Status != "available" || !strings.HasPrefix(v.Name, name+"-"+data+"-restored-") {
		t.Errorf("volume %+v", v)
	}
	if got := h.SHA256(t, h.VolumePath(t, volID))[0]; got != want[data] {
		t.Errorf("lone volume sha256 %s, want %s", got, want[data])
	}
	if !strings.Contains(out, "restored 1.00 GiB") {
		t.Errorf("output %q", out)
	}

	// A flavor that does not exist: nothing made, the message says why.
	out, errOut, code = runT("restore", sum.Archive, "-c", cfg, "--deploy", "--flavor", "no-such-flavor")
	if code != exitFailure || !strings.Contains(errOut, `"no-such-flavor" given with --flavor does not exist`) {
		t.Errorf("bad flavor: exit %d\n%s\n%s", code, out, errOut)
	}
	// Usage errors.
	for _, args := range [][]string{
		{"--deploy", "--volume-only"},
		{"--volume-only", "--disk", data, "--name", "x"},
		{"--deploy", "--disk", data},
		{"--deploy", "--metadata", "novalue"},
	} {
		_, errOut, code := runT(append([]string{"restore", sum.Archive, "-c", cfg}, args...)...)
		if code != exitUsage {
			t.Errorf("restore %v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}

	// SIGTERM while the disks are written: exit 5, everything removed.
	sig := exec.Command(bin, "restore", sum.Archive, "-c", cfg, "--deploy", "--name", name+"-sig")
	var sigOut, sigErr strings.Builder
	sig.Stdout, sig.Stderr = &sigOut, &sigErr
	if err := sig.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitForLog(t, conf["log_file"], regexp.MustCompile(`(?s)creating volume `+regexp.QuoteMeta(name+"-sig-")+`.*restore: attach `), 2*time.Minute) {
		sig.Process.Kill()
		t.Fatal("the restore never attached a volume")
	}
	sig.Process.Signal(syscall.SIGTERM)
	err = sig.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitCanceled {
		t.Errorf("SIGTERM: %v (want exit %d)\n%s", err, exitCanceled, sigErr.String())
	}
	if !strings.Contains(sigErr.String(), "everything this restore created was removed") {
		t.Errorf("SIGTERM: stderr %q", sigErr.String())
	}
	transcript.WriteString(sigOut.String() + sigErr.String())

	// Nothing of ours left but what we made on purpose, no journal left.
	for _, s := range h.Resources(t).Servers {
		if strings.HasPrefix(s.Name, name+"-") && s.ID != r1.ServerID {
			t.Errorf("server left: %+v", s)
		}
	}
	for _, v := range h.Resources(t).Volumes {
		if strings.HasPrefix(v.Name, name+"-") && !strings.HasPrefix(v.Name, name+"-disk") &&
			v.ID != volID && v.ID != r1.Volumes[0].ID && v.ID != r1.Volumes[1].ID {
			t.Errorf("volume left: %+v", v)
		}
	}
	if js, _ := filepath.Glob(filepath.Join(conf["state_dir"], "journal", "*.json")); len(js) != 0 {
		t.Errorf("journals left: %v", js)
	}
	log, _ := os.ReadFile(conf["log_file"])
	all := transcript.String() + string(log)
	for _, s := range []string{conf["password"], conf["admin_password"]} {
		if s != "" && strings.Contains(all, s) {
			t.Error("a password appears in the output or the log")
		}
	}
	if !strings.Contains(string(log), "restore of "+sum.Archive+" done") {
		t.Errorf("the log does not record the restore:\n%s", log)
	}
}

// removeRestored deletes, when the test ends, the server and volumes a
// restore made (out is read then, so it may be filled in later).
func removeRestored(t *testing.T, cloud *api.Client, out *cloudRestoreOut) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() {
		if out.ServerID != "" {
			if err := cloud.DeleteServer(ctx, out.ServerID); err == nil {
				if err := cloud.WaitServerDeleted(ctx, out.ServerID, 2*time.Minute); err != nil {
					t.Error(err)
				}
			}
		}
		for _, v := range out.Volumes {
			if _, err := cloud.WaitVolume(ctx, v.ID, 2*time.Minute, "available"); err != nil {
				continue
			}
			if err := cloud.DeleteVolume(ctx, v.ID); err == nil {
				if err := cloud.WaitVolumeDeleted(ctx, v.ID, 2*time.Minute); err != nil {
					t.Error(err)
				}
			}
		}
	})
}
