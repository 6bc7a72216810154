package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rb_module_rustack/internal/harnesstest"
	"rb_module_rustack/internal/jobrecord"
)

// influxURL is the InfluxDB of scripts/influxdb.sh, or skips the test.
func influxURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("RB_INFLUXDB_URL")
	if u == "" {
		t.Skip("RB_INFLUXDB_URL is not set: run eval \"$(scripts/influxdb.sh up)\" (scripts/test.sh does)")
	}
	return u
}

// influxQL runs one InfluxQL statement and returns the rows of its first
// series as column -> value maps.
func influxQL(t *testing.T, base, db, q string) []map[string]any {
	t.Helper()
	v := url.Values{"q": {q}, "epoch": {"ms"}}
	if db != "" {
		v.Set("db", db)
	}
	resp, err := http.PostForm(base+"/query", v)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("query %q: HTTP %d %v", q, resp.StatusCode, err)
	}
	if len(r.Results) == 0 || r.Results[0].Error != "" {
		t.Fatalf("query %q: %+v", q, r.Results)
	}
	var rows []map[string]any
	for _, s := range r.Results[0].Series {
		for _, vals := range s.Values {
			row := map[string]any{}
			for i, c := range s.Columns {
				row[c] = vals[i]
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// newInfluxDB creates a database of its own for the test, dropped at the end.
func newInfluxDB(t *testing.T, base string) string {
	t.Helper()
	db := fmt.Sprintf("rb_t_%d", rand.Uint64())
	influxQL(t, base, "", "CREATE DATABASE "+db)
	t.Cleanup(func() { influxQL(t, base, "", "DROP DATABASE "+db) })
	return db
}

// monitoredRepo is a pool, a state dir, a log and two images for
// monitoring tests of image backup.
type monitoredRepo struct {
	dir, pool, state, log, img, img2 string
}

func newMonitoredRepo(t *testing.T) *monitoredRepo {
	dir := t.TempDir()
	m := &monitoredRepo{dir: dir, pool: filepath.Join(dir, "pool"), state: filepath.Join(dir, "state"),
		log: filepath.Join(dir, "log", "rb.log"), img: filepath.Join(dir, "vda.img"), img2: filepath.Join(dir, "vdb.img")}
	os.MkdirAll(filepath.Dir(m.log), 0o700)
	writeImage(t, m.img, 2<<20+77, 1)
	writeImage(t, m.img2, 1<<20, 2)
	return m
}

// backup runs image backup --json of VM name with extra --param pairs and
// returns the summary, stderr and exit code.
func (m *monitoredRepo) backup(t *testing.T, name, typ string, params ...string) (map[string]any, string, int) {
	t.Helper()
	args := []string{"image", "backup", "--json", "--pool", m.pool, "--cipher", "none", "--name", name, "--vm-id", "id-" + name,
		"--disk", "vda=" + m.img, "--disk", "vdb=" + m.img2, "--type", typ,
		"--param", "state_dir=" + m.state, "--param", "log_file=" + m.log}
	for _, p := range params {
		args = append(args, "--param", p)
	}
	out, errOut, code := engineCLI(t, args...)
	var s map[string]any
	if code == 0 {
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("summary: %v: %s", err, out)
		}
	}
	return s, errOut, code
}

// TestInfluxPoints: a backup writes one rb_job point and one rb_disk
// point per disk to the real InfluxDB; read back with InfluxQL, names,
// tags and values are the backup's own summary.
func TestInfluxPoints(t *testing.T) {
	base := influxURL(t)
	db := newInfluxDB(t, base)
	m := newMonitoredRepo(t)
	s, errOut, code := m.backup(t, "web1", "incremental", "influxdb_url="+base, "influxdb_database="+db)
	if code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	rows := influxQL(t, base, db, "SELECT * FROM rb_job")
	if len(rows) != 1 {
		t.Fatalf("rb_job: %d points, want 1: %v", len(rows), rows)
	}
	p := rows[0]
	want := map[string]any{
		"job": "image_backup", "vm_name": "web1", "vm_id": "id-web1", "requested_type": "incremental", "type": "full",
		"result": "ok", "archive": s["archive"], "bytes_read": s["bytes_read"], "bytes_zero": s["bytes_zero"],
		"bytes_new": s["bytes_new"], "bytes_stored": s["bytes_stored"], "chunks": s["chunks"], "new_chunks": s["new_chunks"],
		"anomaly": false, "failed": float64(0),
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("rb_job %s = %v (%T), want %v (%T)", k, p[k], p[k], v, v)
		}
	}
	if d, _ := p["duration_seconds"].(float64); d <= 0 || d > 60 || p["duration_seconds"] != s["seconds"] {
		t.Errorf("duration_seconds %v, summary seconds %v", p["duration_seconds"], s["seconds"])
	}
	nz := s["bytes_read"].(float64) - s["bytes_zero"].(float64)
	if r, _ := p["dedup_ratio"].(float64); r != nz/s["bytes_new"].(float64) {
		t.Errorf("dedup_ratio %v, want %v", p["dedup_ratio"], nz/s["bytes_new"].(float64))
	}
	if ts, _ := p["time"].(float64); time.Since(time.UnixMilli(int64(ts))) > time.Minute {
		t.Errorf("time %v", p["time"])
	}
	disks := influxQL(t, base, db, "SELECT * FROM rb_disk")
	if len(disks) != 2 {
		t.Fatalf("rb_disk: %d points, want 2", len(disks))
	}
	sizes := map[string]float64{"vda": 2<<20 + 77, "vdb": 1 << 20}
	for _, d := range disks {
		label, _ := d["disk"].(string)
		if d["size_bytes"] != sizes[label] || d["vm_name"] != "web1" || d["job_id"] != p["job_id"] {
			t.Errorf("rb_disk %v", d)
		}
		if rs, _ := d["read_seconds"].(float64); rs <= 0 {
			t.Errorf("rb_disk %s read_seconds %v", label, d["read_seconds"])
		}
	}
}

// TestInfluxDownThenDelivered: with InfluxDB unreachable the backup still
// succeeds in time, the log has a WARNING and the spool holds its points;
// the next run, with InfluxDB up, delivers both runs' points, once.
func TestInfluxDownThenDelivered(t *testing.T) {
	base := influxURL(t)
	db := newInfluxDB(t, base)
	m := newMonitoredRepo(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, errOut, code := m.backup(t, "web2", "full", "influxdb_url="+dead, "influxdb_database="+db, "influxdb_max_delay=1")
	if code != 0 {
		t.Fatalf("backup with InfluxDB down: exit %d %s", code, errOut)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("backup took %s", took)
	}
	logText, _ := os.ReadFile(m.log)
	if !strings.Contains(string(logText), " WARN ") || !strings.Contains(string(logText), "spooled for the next run") {
		t.Fatalf("log without the WARNING:\n%s", logText)
	}
	spool, _ := filepath.Glob(filepath.Join(m.state, "metrics-spool", "*.lp"))
	if len(spool) != 1 {
		t.Fatalf("spool files: %v", spool)
	}
	if _, errOut, code := m.backup(t, "web2", "incremental", "influxdb_url="+base, "influxdb_database="+db); code != 0 {
		t.Fatalf("second backup: %d %s", code, errOut)
	}
	rows := influxQL(t, base, db, "SELECT * FROM rb_job")
	if len(rows) != 2 || rows[0]["requested_type"] != "full" || rows[1]["requested_type"] != "incremental" {
		t.Fatalf("rb_job points: %v", rows)
	}
	if n := influxQL(t, base, db, "SELECT count(size_bytes) FROM rb_disk"); len(n) != 1 || n[0]["count"] != float64(4) {
		t.Fatalf("rb_disk count: %v", n)
	}
	if left, _ := filepath.Glob(filepath.Join(m.state, "metrics-spool", "*")); len(left) != 0 {
		t.Fatalf("spool not empty after delivery: %v", left)
	}
	recs, err := jobrecord.History(jobrecord.Dir(m.state), "id-web2")
	if err != nil || len(recs) != 2 || recs[0].Result != jobrecord.OK {
		t.Fatalf("job records %v %v", recs, err)
	}
}

// configCLI runs the command in process with the configuration file conf.
func configCLI(t *testing.T, conf string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb strings.Builder
	a := newApp(&out, &errb)
	root := newRootCmd(a)
	root.SetArgs(append([]string{"-c", conf}, args...))
	code := exitOK
	if err := root.ExecuteContext(t.Context()); err != nil {
		code = exitFailure
		if ee, ok := err.(*exitError); ok {
			code = ee.code
		}
		errb.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// TestInfluxCheck: -t pings the real InfluxDB and writes a test point; a
// database that does not exist fails the check (exit 3) without showing
// the password.
func TestInfluxCheck(t *testing.T) {
	base := influxURL(t)
	db := newInfluxDB(t, base)
	dir := t.TempDir()
	const secret = "influx-Pa55-never-shown"
	conf := filepath.Join(dir, "rb.conf")
	text := fmt.Sprintf("url http://127.0.0.1:1/v3\nusername u\npassword p\ndomain d\nproject_id x\nstate_dir %s\nlog_file %s\n"+
		"influxdb_url %s\ninfluxdb_database %s\ninfluxdb_username w\ninfluxdb_password %s\nprometheus_textfile_dir %s\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "log"), base, db, secret, dir)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, _ := configCLI(t, conf, "-t")
	if !strings.Contains(out, "OK    influxdb: "+base) || !strings.Contains(out, "OK    prometheus textfile: ") {
		t.Fatalf("-t:\n%s", out)
	}
	if rows := influxQL(t, base, db, "SELECT * FROM rb_check"); len(rows) != 1 {
		t.Fatalf("rb_check points: %v", rows)
	}
	out, errOut, code := configCLI(t, conf, "-t", "--param", "influxdb_database=no_such_db_here")
	if code != exitCheck || !strings.Contains(out, "FAIL  influxdb: ") || !strings.Contains(out, "database not found") {
		t.Fatalf("-t with a missing database: exit %d\n%s", code, out)
	}
	logText, _ := os.ReadFile(filepath.Join(dir, "log"))
	if strings.Contains(out+errOut+string(logText), secret) {
		t.Fatal("the InfluxDB password was shown")
	}
}

// patch writes n bytes of text at off in the file at path.
func patch(t *testing.T, path string, off int64, n int, seed int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte(strings.Repeat(fmt.Sprintf("changed line %d\n", seed), n/14+1))[:n]
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestStatusTextfileAnomaly: ordinary incrementals stay quiet; an image
// rewritten with random data is flagged (summary, log, job record,
// textfile, status); a failed job is recorded and shows in status, which
// exits 1 for the VM without a good backup; the textfile keeps every VM's
// series and passes promtool.
func TestStatusTextfileAnomaly(t *testing.T) {
	m := newMonitoredRepo(t)
	prom := filepath.Join(m.dir, "textfile")
	os.MkdirAll(prom, 0o755)
	p := "prometheus_textfile_dir=" + prom
	if s, errOut, code := m.backup(t, "web3", "full", p); code != 0 || s["anomaly"] != nil {
		t.Fatalf("full: %d %s %v", code, errOut, s["anomaly"])
	}
	for i := range 3 {
		patch(t, m.img, int64(1<<20+i*8192), 4096, i)
		s, errOut, code := m.backup(t, "web3", "incremental", p)
		if code != 0 || s["type"] != "incremental" {
			t.Fatalf("incremental %d: %d %s", i, code, errOut)
		}
		if s["anomaly"] != nil {
			t.Fatalf("ordinary incremental %d flagged: %v", i, s["anomaly"])
		}
	}
	randomImage(t, m.img, 2<<20+77, 99)
	s, errOut, code := m.backup(t, "web3", "incremental", p)
	if code != 0 {
		t.Fatalf("incremental after the rewrite: %d %s", code, errOut)
	}
	an, _ := s["anomaly"].(map[string]any)
	t.Logf("anomaly: %v", an)
	if an == nil || an["share"].(float64) < 0.5 || an["baseline"].(float64) > 0.1 || an["samples"] != float64(3) {
		t.Fatalf("rewrite with random data not flagged: %v", s["anomaly"])
	}
	logText, _ := os.ReadFile(m.log)
	if !strings.Contains(string(logText), " WARN ") || !strings.Contains(string(logText), "possible mass encryption") {
		t.Fatalf("log:\n%s", logText)
	}
	// The text summary shows it too (a fifth incremental of the same data is quiet).
	out, _, code := engineCLI(t, "image", "backup", "--pool", m.pool, "--cipher", "none", "--name", "web3", "--vm-id", "id-web3",
		"--disk", "vda="+m.img, "--disk", "vdb="+m.img2, "--type", "incremental", "--param", "state_dir="+m.state, "--param", "log_file="+m.log, "--param", p)
	if code != 0 || strings.Contains(out, "ANOMALY") {
		t.Fatalf("quiet incremental: %d\n%s", code, out)
	}

	// A failed job: the pool is a regular file.
	bad := filepath.Join(m.dir, "not-a-dir")
	os.WriteFile(bad, []byte("x"), 0o600)
	_, _, code = engineCLI(t, "image", "backup", "--pool", filepath.Join(bad, "pool"), "--cipher", "none", "--name", "broken", "--vm-id", "id-broken",
		"--disk", "vda="+m.img, "--type", "full", "--param", "state_dir="+m.state, "--param", "log_file="+m.log, "--param", p)
	if code == 0 {
		t.Fatal("backup into a file succeeded")
	}
	recs, _ := jobrecord.History(jobrecord.Dir(m.state), "id-broken")
	if len(recs) != 1 || recs[0].Result != jobrecord.Failed || recs[0].Error == "" {
		t.Fatalf("failed job record: %+v", recs)
	}

	// status: web3 is fine (its last backup was quiet), broken is STALE: exit 1.
	out, errOut, code = engineCLI(t, "status", "--pool", m.pool, "--param", "state_dir="+m.state, "--json")
	if code != exitFailure || !strings.Contains(errOut, "1 VM(s) without a good backup within 26h0m0s: broken") {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	broken, web := rows[0], rows[1]
	if broken["vm_name"] != "broken" || broken["stale"] != true || broken["last_result"] != "failed" || broken["age_seconds"] != float64(-1) {
		t.Errorf("broken: %v", broken)
	}
	if web["vm_name"] != "web3" || web["stale"] != false || web["archives"] != float64(6) || web["last_result"] != "ok" ||
		web["last_type"] != "incremental" || web["age_seconds"].(float64) > 60 {
		t.Errorf("web3: %v", web)
	}
	// Text output; with only web3's pool records (another state dir) it exits 0.
	out, _, code = engineCLI(t, "status", "--pool", m.pool, "--param", "state_dir="+filepath.Join(m.dir, "empty"))
	if code != 0 || !strings.Contains(out, "web3") || !strings.Contains(out, "ok") {
		t.Fatalf("status without records: %d\n%s", code, out)
	}

	data, err := os.ReadFile(filepath.Join(prom, "rb_module_rustack.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`rb_job_last_result{vm_id="id-web3",vm_name="web3",job_type="image_backup"} 1`,
		`rb_job_last_result{vm_id="id-broken",vm_name="broken",job_type="image_backup"} 0`,
		`rb_job_last_anomaly{vm_id="id-web3",vm_name="web3",job_type="image_backup"} 0`,
		`rb_job_last_success_timestamp_seconds{vm_id="id-web3"`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), `rb_job_last_success_timestamp_seconds{vm_id="id-broken"`) {
		t.Errorf("a success timestamp for a VM that never succeeded:\n%s", data)
	}
	promtoolCheck(t, data)
}

// promtoolCheck runs promtool check metrics on data when RB_PROMTOOL is set.
func promtoolCheck(t *testing.T, data []byte) {
	t.Helper()
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

// slowInflux answers /write after delay unless the client gave up first,
// and counts every line it accepted.
type slowInflux struct {
	mu    sync.Mutex
	delay time.Duration
	got   map[string]int
}

func (s *slowInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		s.got[l]++
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestInfluxSlow: InfluxDB answers after 30 s; the backup still ends
// within influxdb_max_delay of its work (2 s) and spools its points; the
// next run, with a fast server, delivers both runs' points, each once.
func TestInfluxSlow(t *testing.T) {
	slow := &slowInflux{delay: 30 * time.Second, got: map[string]int{}}
	srv := httptest.NewServer(slow)
	defer srv.Close()
	m := newMonitoredRepo(t)
	params := []string{"influxdb_url=" + srv.URL, "influxdb_timeout=1", "influxdb_max_delay=2"}
	start := time.Now()
	if _, errOut, code := m.backup(t, "web5", "full", params...); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the backup took %s with a 2 s max delay", took)
	}
	if spool, _ := filepath.Glob(filepath.Join(m.state, "metrics-spool", "*.lp")); len(spool) != 1 {
		t.Fatalf("spool: %v", spool)
	}
	slow.mu.Lock()
	slow.delay = 0
	n := len(slow.got)
	slow.mu.Unlock()
	if n != 0 {
		t.Fatalf("the slow server accepted %d lines", n)
	}
	if _, errOut, code := m.backup(t, "web5", "incremental", params...); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	slow.mu.Lock()
	defer slow.mu.Unlock()
	jobs := 0
	for l, c := range slow.got {
		if c != 1 {
			t.Errorf("sent %d times: %s", c, l)
		}
		if strings.HasPrefix(l, "rb_job,") {
			jobs++
		}
	}
	if len(slow.got) != 6 || jobs != 2 {
		t.Fatalf("%d lines (%d rb_job), want 6 (2): %v", len(slow.got), jobs, slow.got)
	}
	if left, _ := filepath.Glob(filepath.Join(m.state, "metrics-spool", "*")); len(left) != 0 {
		t.Fatalf("spool not empty: %v", left)
	}
}

// TestDashboardQueries: every InfluxQL query of the Grafana dashboard
// (etc/grafana) runs on the real InfluxDB against the points real jobs
// wrote (a full, an incremental, a failed backup) and returns rows; so the
// dashboard uses the measurement, tag and field names the module writes.
func TestDashboardQueries(t *testing.T) {
	base := influxURL(t)
	db := newInfluxDB(t, base)
	m := newMonitoredRepo(t)
	params := []string{"influxdb_url=" + base, "influxdb_database=" + db}
	for _, typ := range []string{"full", "incremental"} {
		if _, errOut, code := m.backup(t, "web6", typ, params...); code != 0 {
			t.Fatalf("backup: %d %s", code, errOut)
		}
	}
	bad := filepath.Join(m.dir, "file")
	os.WriteFile(bad, nil, 0o600)
	if _, _, code := engineCLI(t, "image", "backup", "--pool", filepath.Join(bad, "p"), "--cipher", "none", "--name", "web6", "--vm-id", "id-web6",
		"--disk", "vda="+m.img, "--param", "state_dir="+m.state, "--param", "log_file="+m.log,
		"--param", params[0], "--param", params[1]); code == 0 {
		t.Fatal("backup into a file succeeded")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "etc", "grafana", "rb_module_rustack-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Query string `json:"query"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			q := strings.NewReplacer("$timeFilter", "time > now() - 1d", "$__interval", "1h").Replace(tg.Query)
			rows := influxQL(t, base, db, q)
			n++
			if strings.Contains(q, `"anomaly" = true`) {
				continue // no anomaly in these jobs: the query must only run
			}
			if len(rows) == 0 {
				t.Errorf("panel %q %s: no rows for\n%s", p.Title, tg.RefID, q)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d queries in the dashboard", n)
	}
}

// TestHarnessStatusProject: status --project lists the VMs of the real
// project too: the proxy VM, never backed up, is STALE with no age (exit
// 1), beside a VM known only from the pool.
func TestHarnessStatusProject(t *testing.T) {
	h := harnesstest.New(t)
	dir := t.TempDir()
	m := newMonitoredRepo(t)
	conf := newHarnessConf(h.Env, dir).with("pool", m.pool)
	cfgPath := conf.write(t, filepath.Join(dir, "rb.conf"))
	if _, errOut, code := configCLI(t, cfgPath, "image", "backup", "--cipher", "none", "--name", "pool-only", "--vm-id", "pool-only-id",
		"--disk", "vda="+m.img, "--type", "full"); code != 0 {
		t.Fatalf("image backup: %d %s", code, errOut)
	}
	out, errOut, code := configCLI(t, cfgPath, "status", "--project", "--json")
	if code != exitFailure || !strings.Contains(errOut, "without a good backup within 26h") {
		t.Fatalf("status --project: exit %d\n%s\n%s", code, out, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]any{}
	for _, r := range rows {
		seen[r["vm_id"].(string)] = r
	}
	proxy, pool := seen[h.Env["OS_HARNESS_PROXY_ID"]], seen["pool-only-id"]
	if proxy == nil || proxy["stale"] != true || proxy["age_seconds"] != float64(-1) || proxy["vm_name"] == "" {
		t.Errorf("proxy VM: %v", proxy)
	}
	if pool == nil || pool["stale"] != false || pool["last_result"] != "ok" {
		t.Errorf("pool-only VM: %v", pool)
	}
	// Without --project only the pool's VM: exit 0.
	if out, _, code := configCLI(t, cfgPath, "status"); code != 0 || strings.Contains(out, h.Env["OS_HARNESS_PROXY_ID"]) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}
