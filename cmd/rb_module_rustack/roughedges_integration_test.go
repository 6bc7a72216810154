package main

import (
	"path/filepath"
	"strings"
	"testing"

	"rb_module_rustack/internal/harnesstest"
)

// TestHarnessRoughEdges: against the real cloud, -t -l runs both, and a
// configured guest script without the admin account fails -t (the admin
// check) and stops a backup with exit 2 (a configuration error, found
// before the cloud is called).
func TestHarnessRoughEdges(t *testing.T) {
	h := harnesstest.New(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	base := newHarnessConf(h.Env, dir)
	conf := base.write(t, filepath.Join(dir, "ok.conf"))

	out, errOut, code := run(t, bin, "-c", conf, "-t", "-l")
	if code != 0 || !strings.Contains(out, "OK    configuration") || !strings.Contains(out, "OK    admin") ||
		!strings.Contains(out, "NAME") || !strings.Contains(out, h.Env["OS_HARNESS_PROXY_ID"]) {
		t.Errorf("-t -l: exit %d, want both the checks and the list\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	noAdmin := base.with("admin_name", "", "admin_password", "").write(t, filepath.Join(dir, "noadmin.conf"))
	out, errOut, code = run(t, bin, "-c", noAdmin, "--param", "script_before_snapshot=/usr/local/bin/freeze", "-t")
	if code != exitCheck || !strings.Contains(out, `FAIL  admin: rule parameter "script_before_snapshot": key "script_before_snapshot" is set, but admin_name and admin_password are not`) {
		t.Errorf("-t with a script and no admin: exit %d, want %d and a FAIL admin line\nstdout: %s\nstderr: %s", code, exitCheck, out, errOut)
	}
	if out, errOut, code := run(t, bin, "-c", noAdmin, "-t"); code != 0 || !strings.Contains(out, "SKIP  admin") {
		t.Errorf("-t with no script and no admin: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, errOut, code = run(t, bin, "-c", noAdmin, "--param", "script_after_snapshot=/post", "backup", "--vm", h.Env["OS_HARNESS_PROXY_ID"],
		"--pool", filepath.Join(dir, "pool"), "--key-file", filepath.Join(dir, "no-key"))
	if code != exitUsage || !strings.Contains(errOut, `key "script_after_snapshot" is set, but admin_name and admin_password are not`) {
		t.Errorf("backup with a script and no admin: exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
	}
}
