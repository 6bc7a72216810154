package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/harnesstest"
	"rb_module_rustack/internal/jobrecord"
	"rb_module_rustack/internal/units"
)

// The VM backup against the real harness: a seeded VM with an ext4 boot
// volume and a random data volume; guest scripts that write into the data
// volume (the agent runs on this machine), so the restored images show
// whether they ran before and after the snapshots; full, incremental and
// differential after writes into the backing files, each restored and
// compared byte for byte; then SIGTERM mid-read, SIGKILL + cleanup, and
// SIGKILL + the next backup's sweep; nothing of ours left at the end.

// leftovers lists every volume or snapshot of the given jobs, and every
// volume of ours attached to the proxy.
func leftovers(t *testing.T, h *harnesstest.Harness, jobs []string) []string {
	t.Helper()
	r := h.Resources(t)
	ours := func(name string) bool {
		for _, j := range jobs {
			if strings.HasPrefix(name, "rbk-"+j+"-") {
				return true
			}
		}
		return false
	}
	var left []string
	for _, s := range r.Snapshots {
		if ours(s.Name) {
			left = append(left, fmt.Sprintf("snapshot %s %s (%s)", s.ID, s.Name, s.Status))
		}
	}
	for _, v := range r.Volumes {
		if ours(v.Name) { // attached or not: a temporary volume (or its attachment to the proxy)
			left = append(left, fmt.Sprintf("volume %s %s (%s, attached to %v)", v.ID, v.Name, v.Status, v.AttachedTo))
		}
	}
	return left
}

var jobLine = regexp.MustCompile(`job ([a-z0-9]{10}): backup of VM`)

// jobsInLog are the job ids the module logged.
func jobsInLog(t *testing.T, logFile string) []string {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	var jobs []string
	for _, m := range jobLine.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(jobs, m[1]) {
			jobs = append(jobs, m[1])
		}
	}
	return jobs
}

// sha256Patched hashes path as it would read with patch at off.
func sha256Patched(t *testing.T, path string, off int64, patch []byte) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, off); err != nil {
		t.Fatal(err)
	}
	h.Write(patch)
	if _, err := f.Seek(int64(len(patch)), io.SeekCurrent); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// scatter writes n random 4 KiB blocks into the first limit bytes of a
// backing file, as a guest would: no truncation, no growth.
func scatter(t *testing.T, path string, limit int64, n int, seed uint64, avoid ...int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mrand.New(mrand.NewPCG(seed, 99))
	block := make([]byte, 4096)
	for i := 0; i < n; i++ {
		off := r.Int64N(limit/4096) * 4096
		if slices.ContainsFunc(avoid, func(a int64) bool { return a >= off-4096 && a < off+4096 }) {
			continue
		}
		for j := range block {
			block[j] = byte(r.Uint32())
		}
		if _, err := f.WriteAt(block, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func waitForLog(t *testing.T, logFile string, re *regexp.Regexp, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(logFile); err == nil && re.Match(b) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestHarnessBackup(t *testing.T) {
	h := harnesstest.New(t)
	env := h.Env
	bin := buildBinary(t)
	dir := t.TempDir()
	name := harnesstest.Name("vmbackup-it-")

	t0 := time.Now()
	vm := h.SeedVM(t, name, "1G:ext4:/usr/share/doc", "256M:random:7")
	t.Logf("seeded %s (%s) in %s", vm.Name, vm.ServerID, time.Since(t0).Round(time.Millisecond))
	if len(vm.Volumes) != 2 {
		t.Fatalf("seeded volumes: %+v", vm.Volumes)
	}
	boot, data := vm.Volumes[0], vm.Volumes[1]

	if out, errOut, code := run(t, bin, "keygen", "--key-file", filepath.Join(dir, "master-key")); code != 0 {
		t.Fatalf("keygen: %d %s %s", code, out, errOut)
	}
	// Guest scripts: the agent runs them on this machine, as root. before
	// writes "before-N" at X of the data volume, after "after--N" at Y; the
	// restored image of backup N must hold before-N at X and, at Y, what
	// was there before the backup started.
	const X, Y = 100 << 20, 200 << 20
	marker := filepath.Join(dir, "marker")
	runFile := filepath.Join(dir, "run")
	script := func(phase string, off int64, word string) string {
		p := filepath.Join(dir, phase+".sh")
		body := fmt.Sprintf(`#!/bin/sh
set -e
PATH=/usr/sbin:/usr/bin:/sbin:/bin
n=$(cat %[1]s)
printf '%[2]s%%s' "$n" | dd of=%[3]s bs=1 seek=%[4]d conv=notrunc status=none
echo "%[5]s $n $(date +%%s.%%N)" >> %[6]s
echo "%[5]s script ran for run $n"
`, runFile, word, data.Path, off, phase, marker)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before, after := script("before", X, "before-"), script("after", Y, "after--")

	conf := newHarnessConf(env, dir).with(
		"device_dir", env["OS_HARNESS_DEVICE_DIR"],
		"virsh_path", env["OS_HARNESS_VIRSH"],
		"protocol", "ssh",
		"pool", filepath.Join(dir, "pool"),
		"master_key_file", filepath.Join(dir, "master-key"),
		"volume_creation_timeout", "120", "snapshot_creation_timeout", "120", "volume_attachment_timeout", "120",
		"prometheus_textfile_dir", dir,
	)
	// Monitoring of the real backup path: InfluxDB when scripts/influxdb.sh is up.
	influxBase, influxDB := os.Getenv("RB_INFLUXDB_URL"), ""
	if influxBase != "" {
		influxDB = newInfluxDB(t, influxBase)
		conf = conf.with("influxdb_url", influxBase, "influxdb_database", influxDB)
	}
	cfgPath := conf.write(t, filepath.Join(dir, "rb.conf"))
	logFile := conf["log_file"]
	secrets := []string{conf["password"], conf["admin_password"]}
	var transcript strings.Builder

	var fullID string
	var prevID string
	for i, typ := range []string{"full", "incremental", "differential"} {
		n := i + 1
		ok := t.Run(typ, func(t *testing.T) {
			if i > 0 {
				scatter(t, boot.Path, 1<<30, 300, uint64(n), X, Y)
				scatter(t, data.Path, 256<<20, 300, uint64(100+n), X, Y)
			}
			if err := os.WriteFile(runFile, []byte(fmt.Sprint(n)), 0o644); err != nil {
				t.Fatal(err)
			}
			atYBefore := readAt(t, data.Path, Y, 16)
			start := time.Now()
			out, errOut, code := run(t, bin, "backup", "-c", cfgPath, "--vm", name, "--type", typ, "--json",
				"--param", "script_before_snapshot="+before, "--param", "script_after_snapshot="+after)
			took := time.Since(start)
			fmt.Fprintf(&transcript, "%s%s", out, errOut)
			if code != 0 {
				t.Fatalf("backup %s: exit %d\n%s\n%s", typ, code, out, errOut)
			}
			var s backup.VMSummary
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatalf("summary: %v\n%s", err, out)
			}
			t.Logf("%s: %s read %s (zero %s, new %s), stored %s in %.1f s: %.0f MB/s over the job, reading %.2f s (%.0f MB/s); wall %s",
				s.Type, s.Archive, units.FormatBytes(s.BytesRead), units.FormatBytes(s.BytesZero), units.FormatBytes(s.BytesNew), units.FormatBytes(s.BytesStored),
				s.Seconds, s.MBps, s.ReadSeconds, s.ReadMBps, took.Round(time.Millisecond))
			if s.Type != typ || !s.Scripts || len(s.Disks) != 2 || s.Disks[0].VolumeID != boot.ID || s.BytesRead != 2<<30 {
				t.Fatalf("summary %+v", s)
			}
			switch typ {
			case "full":
				fullID = s.Archive
			case "incremental":
				if s.Parent != prevID {
					t.Errorf("incremental parent %s, want %s", s.Parent, prevID)
				}
			case "differential":
				if s.Parent != fullID {
					t.Errorf("differential parent %s, want the full %s", s.Parent, fullID)
				}
			}
			prevID = s.Archive
			// The summary's job id is the one on the job's log lines.
			if !regexp.MustCompile(`job=` + s.JobID + ` job ` + s.JobID + `: backup of VM`).Match(mustRead(t, logFile)) {
				t.Errorf("no log line of job %s carries its id as job=%s", s.JobID, s.JobID)
			}

			// The source at the moment of the snapshots: now, except at Y
			// where the after script wrote once the snapshots existed.
			if got := readAt(t, data.Path, Y, 8); string(got) != fmt.Sprintf("after--%d", n) {
				t.Errorf("after script did not write: %q", got)
			}
			wantBoot := h.SHA256(t, boot.Path)[0]
			wantData := sha256Patched(t, data.Path, Y, atYBefore)

			rdir := filepath.Join(dir, "restore-"+typ)
			rs := time.Now()
			rout, rerr, code := run(t, bin, "restore", s.Archive, "-c", cfgPath, "--to-dir", rdir)
			if code != 0 {
				t.Fatalf("restore: exit %d\n%s%s", code, rout, rerr)
			}
			t.Logf("%s: restored to %s in %s", typ, rdir, time.Since(rs).Round(time.Millisecond))
			rboot := filepath.Join(rdir, boot.ID+".img")
			rdata := filepath.Join(rdir, data.ID+".img")
			if got := readAt(t, rdata, X, 8); string(got) != fmt.Sprintf("before-%d", n) {
				t.Errorf("restored image lacks the before script's mark: %q (before did not run before the snapshot)", got)
			}
			if got := readAt(t, rdata, Y, 16); !bytes.Equal(got, atYBefore) {
				t.Errorf("restored image holds %q at Y: the after script ran before the snapshot", got)
			}
			if got := h.SHA256(t, rboot)[0]; got != wantBoot {
				t.Errorf("boot disk: restored sha256 %s, source %s", got, wantBoot)
			}
			if got := h.SHA256(t, rdata)[0]; got != wantData {
				t.Errorf("data disk: restored sha256 %s, source %s", got, wantData)
			}
			var desc struct {
				ID    string `json:"id"`
				Disks []struct {
					VolumeID string `json:"volume_id"`
					Bootable bool   `json:"bootable"`
				} `json:"disks"`
			}
			vmJSON, err := os.ReadFile(filepath.Join(rdir, "vm.json"))
			if err == nil {
				err = json.Unmarshal(vmJSON, &desc)
			}
			if err != nil || desc.ID != vm.ServerID || len(desc.Disks) != 2 || !desc.Disks[0].Bootable || desc.Disks[0].VolumeID != boot.ID {
				t.Errorf("vm.json: %v %s", err, vmJSON)
			}
			// Scripts in order, once each.
			lines := strings.Split(strings.TrimSpace(string(mustRead(t, marker))), "\n")
			if len(lines) != 2*n || !strings.HasPrefix(lines[2*n-2], fmt.Sprintf("before %d ", n)) || !strings.HasPrefix(lines[2*n-1], fmt.Sprintf("after %d ", n)) {
				t.Errorf("marker file: %q", lines)
			}
			if left := leftovers(t, h, jobsInLog(t, logFile)); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			if js, _ := filepath.Glob(filepath.Join(dir, "state", "journal", "*.json")); len(js) > 0 {
				t.Errorf("journals left: %v", js)
			}
		})
		if !ok {
			t.FailNow()
		}
	}

	// Monitoring: each backup and restore is recorded for the VM (its
	// server id), in the textfile and, when it runs, in InfluxDB with one
	// rb_disk point per volume; status shows the VM as ok.
	recs, err := jobrecord.History(jobrecord.Dir(filepath.Join(dir, "state")), vm.ServerID)
	if err != nil || len(recs) != 6 {
		t.Fatalf("job records: %d, %v", len(recs), err)
	}
	for i, r := range recs {
		wantJob := []string{"backup", "restore"}[i%2]
		if r.Job != wantJob || r.Result != jobrecord.OK || r.VMName != name || (wantJob == "backup" && (len(r.Disks) != 2 || r.Disks[0].ReadSeconds <= 0 || r.BytesRead != 2<<30)) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	prom := string(mustRead(t, filepath.Join(dir, "rb_module_rustack.prom")))
	if !strings.Contains(prom, fmt.Sprintf(`rb_job_last_result{vm_id=%q,vm_name=%q,job_type="backup"} 1`, vm.ServerID, name)) {
		t.Errorf("textfile:\n%s", prom)
	}
	if sout, serr, code := run(t, bin, "status", "-c", cfgPath, "--json"); code != 0 || !strings.Contains(sout, `"last_type": "differential"`) {
		t.Errorf("status: exit %d\n%s%s", code, sout, serr)
	}
	if influxBase != "" {
		jobs := influxQL(t, influxBase, influxDB, fmt.Sprintf(`SELECT * FROM rb_job WHERE vm_id = '%s' AND job = 'backup'`, vm.ServerID))
		disks := influxQL(t, influxBase, influxDB, fmt.Sprintf(`SELECT * FROM rb_disk WHERE vm_id = '%s'`, vm.ServerID))
		if len(jobs) != 3 || len(disks) != 6 || jobs[2]["type"] != "differential" || jobs[0]["bytes_read"] != float64(2<<30) {
			t.Errorf("InfluxDB: %d rb_job, %d rb_disk points: %v", len(jobs), len(disks), jobs)
		}
	}

	// Progress: a backup with stderr on a pseudo-terminal draws a bar per
	// volume and a total there, and nothing on stdout.
	t.Run("progress on a terminal", func(t *testing.T) {
		stdout, screen, code := runOnTTY(t, bin, "backup", "-c", cfgPath, "--vm", name, "--type", "incremental")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, screen)
		}
		// Volume ids are cut to their first 13 characters and "…".
		for _, want := range []string{"reading " + boot.ID[:13] + "…", "reading " + data.ID[:13] + "…", "1.00 GiB / 1.00 GiB", "total", "2.00 GiB / 2.00 GiB", "MB/s", "done"} {
			if !strings.Contains(screen, want) {
				t.Errorf("the terminal shows no %q:\n%q", want, screen)
			}
		}
		if strings.Contains(stdout, "\x1b[") || !strings.Contains(stdout, "archive ") {
			t.Errorf("stdout:\n%q", stdout)
		}
	})

	// Signals: a fresh pool, so the next backup is a full with data to
	// compress (a read of a few seconds), and no scripts.
	sigConf := conf.with("pool", filepath.Join(dir, "pool-signals"), "compression_level", "better", "parallelism", "1", "disk_parallelism", "1")
	sigPath := sigConf.write(t, filepath.Join(dir, "signals.conf"))
	reading := regexp.MustCompile(`disk [0-9a-f-]+: volume .* at /`)
	startBackup := func(t *testing.T, typ string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
		t.Helper()
		os.WriteFile(logFile, nil, 0o600) // fresh log: wait for this run's lines only
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, "backup", "-c", sigPath, "--vm", vm.ServerID, "--type", typ)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitForLog(t, logFile, reading, 2*time.Minute) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the backup never started reading\n%s%s", stdout.String(), stderr.String())
		}
		return cmd, &stdout, &stderr
	}
	var allJobs []string

	t.Run("SIGTERM mid-read leaves nothing", func(t *testing.T) {
		cmd, stdout, stderr := startBackup(t, "full")
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		t.Logf("SIGTERM: exit %d %v after %s\n%s", code, err, time.Since(sent).Round(time.Millisecond), stderr.String())
		if code != exitCanceled {
			t.Fatalf("exit %d, want %d\n%s%s", code, exitCanceled, stdout.String(), stderr.String())
		}
		logText := string(mustRead(t, logFile))
		if strings.Contains(logText, "done: archive") {
			t.Fatal("the backup finished before the signal: not a mid-read test")
		}
		if rba, _ := filepath.Glob(filepath.Join(dir, "pool-signals", "*.rba")); len(rba) > 0 {
			t.Errorf("archive kept after SIGTERM: %v", rba)
		}
		jobs := jobsInLog(t, logFile)
		allJobs = append(allJobs, jobs...)
		if left := leftovers(t, h, jobs); len(left) > 0 {
			t.Errorf("left behind after SIGTERM: %v", left)
		}
		if js, _ := filepath.Glob(filepath.Join(dir, "state", "journal", "*.json")); len(js) > 0 {
			t.Errorf("journals left: %v", js)
		}
	})

	killed := func(t *testing.T) []string {
		t.Helper()
		cmd, _, _ := startBackup(t, "full")
		cmd.Process.Kill()
		cmd.Wait()
		jobs := jobsInLog(t, logFile)
		allJobs = append(allJobs, jobs...)
		left := leftovers(t, h, jobs)
		if len(left) == 0 {
			t.Fatal("SIGKILL left nothing: the test did not kill mid-run")
		}
		t.Logf("SIGKILL left %d resources: %v", len(left), left)
		return jobs
	}

	t.Run("SIGKILL then cleanup", func(t *testing.T) {
		jobs := killed(t)
		out, errOut, code := run(t, bin, "cleanup", "-c", sigPath, "--json")
		fmt.Fprintf(&transcript, "%s%s", out, errOut)
		if code != 0 {
			t.Fatalf("cleanup: exit %d\n%s%s", code, out, errOut)
		}
		var removed []struct {
			Job  string `json:"job_id"`
			Kind string `json:"kind"`
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(out), &removed); err != nil {
			t.Fatalf("cleanup output: %v\n%s", err, out)
		}
		if len(removed) < 2 {
			t.Errorf("cleanup removed %v", removed)
		}
		for _, r := range removed {
			if !slices.Contains(jobs, r.Job) {
				t.Errorf("cleanup removed a resource of job %s: %+v", r.Job, r)
			}
		}
		if left := leftovers(t, h, jobs); len(left) > 0 {
			t.Errorf("left behind after cleanup: %v", left)
		}
		if out, _, code := run(t, bin, "cleanup", "-c", sigPath); code != 0 || !strings.Contains(out, "nothing to clean up") {
			t.Errorf("second cleanup: exit %d: %s", code, out)
		}
	})

	t.Run("SIGKILL then the next backup sweeps", func(t *testing.T) {
		jobs := killed(t)
		out, errOut, code := run(t, bin, "backup", "-c", sigPath, "--vm", name, "--type", "incremental")
		fmt.Fprintf(&transcript, "%s%s", out, errOut)
		if code != 0 {
			t.Fatalf("backup after SIGKILL: exit %d\n%s%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "leftover") {
			t.Errorf("the backup did not report the sweep: %s", errOut)
		}
		if !strings.Contains(errOut, "note:") || !strings.Contains(out, "requested incremental") {
			t.Errorf("an incremental without a base did not say it became a full:\n%s%s", out, errOut)
		}
		allJobs = append(allJobs, jobsInLog(t, logFile)...)
		if left := leftovers(t, h, jobs); len(left) > 0 {
			t.Errorf("left behind after the next backup: %v", left)
		}
	})

	if left := leftovers(t, h, allJobs); len(left) > 0 {
		t.Errorf("left behind at the end: %v", left)
	}
	all := transcript.String() + string(mustRead(t, logFile))
	for _, s := range secrets {
		if s != "" && strings.Contains(all, s) {
			t.Errorf("a password appears in the output or the log")
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
