package promfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpdateMerges: two VMs' series share the file; a failed job keeps
// the last success timestamp; promtool (Debian's prometheus) accepts the
// file when RB_PROMTOOL names it.
func TestUpdateMerges(t *testing.T) {
	dir := t.TempDir()
	ok := func(id, name string, ts float64) Series {
		return Series{VMID: id, VMName: name, JobType: "backup", Values: map[string]float64{
			"rb_job_last_run_timestamp_seconds": ts, "rb_job_last_success_timestamp_seconds": ts,
			"rb_job_last_result": 1, "rb_job_last_duration_seconds": 12.5, "rb_job_last_read_bytes": 1 << 30,
			"rb_job_last_new_bytes": 1 << 20, "rb_job_last_stored_bytes": 5e5, "rb_job_last_anomaly": 0}}
	}
	for _, s := range []Series{ok("id-1", `web "one"`, 1000), ok("id-2", "db", 2000)} {
		if err := Update(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	fail := Series{VMID: "id-1", VMName: `web "one"`, JobType: "backup", Values: map[string]float64{
		"rb_job_last_run_timestamp_seconds": 3000, "rb_job_last_result": 0, "rb_job_last_duration_seconds": 1}}
	if err := Update(dir, fail); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	all := Parse(data)
	one, two := all["id-1\x00backup"], all["id-2\x00backup"]
	if one == nil || two == nil || one.VMName != `web "one"` {
		t.Fatalf("parsed %v\n%s", all, data)
	}
	if one.Values["rb_job_last_success_timestamp_seconds"] != 1000 || one.Values["rb_job_last_run_timestamp_seconds"] != 3000 ||
		one.Values["rb_job_last_result"] != 0 || two.Values["rb_job_last_result"] != 1 || one.Values["rb_job_last_read_bytes"] != 1<<30 {
		t.Fatalf("values %v %v", one.Values, two.Values)
	}
	if n := strings.Count(string(data), "# TYPE rb_job_last_result gauge"); n != 1 {
		t.Fatalf("%d TYPE lines", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	promtool := os.Getenv("RB_PROMTOOL")
	if promtool == "" {
		t.Skip("RB_PROMTOOL is not set (scripts/test.sh sets it after scripts/influxdb.sh up): promtool check skipped")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(data))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, data)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("rb_job_last_result{vm_id=\"a\\\"b\",vm_name=\"x\",job_type=\"backup\"} 1\n# c\nbad{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		all := Parse(data)
		again := Parse(Format(all))
		if len(again) != len(all) {
			t.Fatalf("round trip: %d series, then %d", len(all), len(again))
		}
	})
}
