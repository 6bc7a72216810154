package check

import (
	"context"
	"os"
	"time"

	"rb_module_rustack/internal/metrics"
)

// Monitoring check names; they print only when configured.
const (
	InfluxCheck   = "influxdb"
	TextfileCheck = "prometheus textfile"
)

// Influx pings InfluxDB and writes one point (measurement rb_check) to the
// configured database, as a job would; nothing prints when url is "".
func Influx(ctx context.Context, r *Run, o metrics.Options) {
	if o.URL == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*max(o.Timeout, time.Second))
	defer cancel()
	ver, err := metrics.Ping(ctx, o)
	if err != nil {
		r.Fail(InfluxCheck, "%v (check influxdb_url)", err)
		return
	}
	host, _ := os.Hostname()
	p := metrics.Point{Measurement: "rb_check", Tags: map[string]string{"host": host},
		Fields: map[string]any{"ok": 1}, Time: time.Now()}
	if err := metrics.WriteNow(ctx, o, p); err != nil {
		r.Fail(InfluxCheck, "%s answers /ping (version %s) but a test write to database %s fails: %v (check influxdb_database, influxdb_username, influxdb_password, influxdb_retention_policy)",
			metrics.SafeURL(o.URL), ver, o.Database, err)
		return
	}
	r.OK(InfluxCheck, "%s (version %s): test point written to database %s", metrics.SafeURL(o.URL), ver, o.Database)
}

// Textfile checks the textfile collector directory takes a new file;
// nothing prints when dir is "".
func Textfile(r *Run, dir string) {
	if dir == "" {
		return
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		r.Fail(TextfileCheck, "%s is not a folder (prometheus_textfile_dir)", dir)
		return
	}
	f, err := os.CreateTemp(dir, ".rb_module_rustack-test-*")
	if err != nil {
		r.Fail(TextfileCheck, "%s is not writable: %v", dir, unwrapPathErr(err))
		return
	}
	f.Close()
	os.Remove(f.Name())
	r.OK(TextfileCheck, "%s writable", dir)
}
