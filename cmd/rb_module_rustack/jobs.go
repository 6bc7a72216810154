package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/jobrecord"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/metrics"
	"rb_module_rustack/internal/promfile"
)

// Monitoring of jobs (docs/monitoring.md): every backup, image backup,
// restore, verify and prune is wrapped by monitored; when it ends, its
// result goes to the job records in state_dir, to the Prometheus textfile
// and to InfluxDB. A monitoring failure is a WARNING in the log, never a
// failed job, and the InfluxDB delivery waits at most influxdb_max_delay.

// jobRun follows the job of one command run. Its methods do nothing on a
// nil receiver, so commands call them unconditionally.
type jobRun struct {
	rec jobrecord.Record
	cfg *config.Config // set once the command has read its configuration
}

// monitored wraps cmd's RunE so that its job is recorded when it ends.
func monitored(a *app, kind string, cmd *cobra.Command) *cobra.Command {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		j := &jobRun{rec: jobrecord.Record{Job: kind, Start: time.Now()}}
		a.job = j
		err := run(c, args)
		a.job = nil
		j.finish(a, err)
		return err
	}
	return cmd
}

// useConfig tells the job the configuration its command runs with. An
// engine command run without a configuration file (flags only) and
// without --param state_dir records nothing unless the default state_dir
// exists: a test or a one-off run must not create /opt/rubackup/var/...
// behind the user's back.
func (j *jobRun) useConfig(cfg *config.Config) {
	if j == nil || cfg == nil {
		return
	}
	if strings.HasPrefix(cfg.Path, "(defaults") && cfg.Origin("state_dir") == "default" {
		if st, err := os.Stat(cfg.StateDir); err != nil || !st.IsDir() {
			return
		}
	}
	j.cfg = cfg
}

// vm names the job's VM (before the job knows more, e.g. a failed backup).
func (j *jobRun) vm(id, name string) {
	if j == nil {
		return
	}
	if id != "" {
		j.rec.VMID = id
	}
	if name != "" {
		j.rec.VMName = name
	}
}

// archive names the archive the job made or read.
func (j *jobRun) archive(id string) {
	if j != nil {
		j.rec.Archive = id
	}
}

// backupDone records a committed backup's figures and judges its new
// incompressible share against the VM's history; the anomaly it returns
// (nil when none) is also logged as a WARNING.
func (j *jobRun) backupDone(a *app, jobID, requested, made string, c backup.Counts, seconds, readSeconds float64, disks []jobrecord.Disk) *jobrecord.Anomaly {
	if j == nil {
		return nil
	}
	r := &j.rec
	r.JobID, r.Requested, r.Type = jobID, requested, made
	r.BytesRead, r.BytesZero, r.BytesNew, r.BytesStored = c.BytesRead, c.BytesZero, c.BytesNew, c.BytesStored
	r.Chunks, r.NewChunks = c.Chunks, c.NewChunks
	r.Seconds, r.ReadSeconds, r.Disks = seconds, readSeconds, disks
	r.NewIncompressibleShare = jobrecord.Share(c.BytesRead, c.BytesZero, c.BytesStored)
	if j.cfg == nil || j.cfg.AnomalyFactor == 0 {
		return nil
	}
	hist, err := jobrecord.History(jobrecord.Dir(j.cfg.StateDir), r.Key())
	if err != nil {
		hist = nil
	}
	cur := *r
	cur.Result = jobrecord.OK
	an := jobrecord.Judge(hist, cur, j.cfg.AnomalyFactor, j.cfg.AnomalyMinPercent)
	if an != nil {
		r.Anomaly = an
		log := a.engineLog(j.cfg, r.Job)
		log.Warnf("%s of VM %s (%s), archive %s: %s", r.Job, r.VMName, r.VMID, r.Archive, an.Message)
		log.Close()
	}
	return an
}

// errorClass names the kind of failure of err by its exit code.
func errorClass(err error) (result, class string) {
	if err == nil {
		return jobrecord.OK, ""
	}
	var ee *exitError
	code := exitFailure
	if errors.As(err, &ee) {
		code = ee.code
	}
	switch code {
	case exitUsage:
		return jobrecord.Failed, "usage"
	case exitIntegrity:
		return jobrecord.Failed, "integrity"
	case exitCanceled:
		return jobrecord.Canceled, "canceled"
	case exitCheck:
		return jobrecord.Failed, "check"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return jobrecord.Failed, "timeout"
	}
	return jobrecord.Failed, "failure"
}

// finish records the ended job: job records, textfile, InfluxDB. Nothing
// is recorded when the command never read its configuration (a usage
// error before it: no state_dir to write to).
func (j *jobRun) finish(a *app, err error) {
	if j == nil || j.cfg == nil {
		return
	}
	cfg := j.cfg
	r := &j.rec
	r.End = time.Now()
	if r.Seconds == 0 {
		r.Seconds = r.End.Sub(r.Start).Seconds()
	}
	if r.JobID == "" {
		r.JobID = journal.NewJobID()
	}
	r.Host, _ = os.Hostname()
	r.Result, r.ErrorClass = errorClass(err)
	if err != nil {
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		r.Error = msg
	}
	log := a.engineLog(cfg, r.Job)
	defer log.Close()
	warn := func(f string, args ...any) { log.Warnf(f, args...) }
	if err := jobrecord.Append(jobrecord.Dir(cfg.StateDir), *r, cfg.JobHistory); err != nil {
		warn("monitoring: %v", err)
	}
	if cfg.PrometheusTextfileDir != "" {
		if err := promfile.Update(cfg.PrometheusTextfileDir, promSeries(r)); err != nil {
			warn("monitoring: %v", err)
		}
	}
	if cfg.InfluxURL != "" {
		sendInflux(cfg, r, log)
	}
}

// promSeries is the textfile series of a job record.
func promSeries(r *jobrecord.Record) promfile.Series {
	v := map[string]float64{
		"rb_job_last_run_timestamp_seconds": float64(r.End.UnixMilli()) / 1000,
		"rb_job_last_duration_seconds":      r.Seconds,
		"rb_job_last_result":                0,
	}
	if r.Result == jobrecord.OK {
		v["rb_job_last_result"] = 1
		v["rb_job_last_success_timestamp_seconds"] = v["rb_job_last_run_timestamp_seconds"]
	}
	if r.Job == jobrecord.Backup || r.Job == jobrecord.ImageBackup {
		v["rb_job_last_read_bytes"] = float64(r.BytesRead)
		v["rb_job_last_new_bytes"] = float64(r.BytesNew)
		v["rb_job_last_stored_bytes"] = float64(r.BytesStored)
		v["rb_job_last_anomaly"] = 0
		if r.Anomaly != nil {
			v["rb_job_last_anomaly"] = 1
		}
	}
	id := r.VMID
	if id == "" {
		id = r.Key()
	}
	return promfile.Series{VMID: id, VMName: r.VMName, JobType: r.Job, Values: v}
}

// influxOptions are the configuration's InfluxDB settings.
func influxOptions(cfg *config.Config) metrics.Options {
	return metrics.Options{
		URL: cfg.InfluxURL, Database: cfg.InfluxDatabase, RetentionPolicy: cfg.InfluxRetention,
		Precision: cfg.InfluxPrecision, Username: cfg.InfluxUsername, Password: cfg.InfluxPassword,
		CAFile: cfg.InfluxCAFile, BatchSize: cfg.InfluxBatchSize, FlushInterval: cfg.InfluxFlushInterval,
		BufferSize: cfg.InfluxBufferSize, Timeout: cfg.InfluxTimeout,
		SpoolDir: metricsSpoolDir(cfg), SpoolSize: int64(cfg.InfluxSpoolSize),
	}
}

// metricsSpoolDir holds the points a run could not deliver.
func metricsSpoolDir(cfg *config.Config) string { return cfg.StateDir + "/metrics-spool" }

// jobPoints are the InfluxDB points of a job record: one rb_job point and
// one rb_disk point per disk.
func jobPoints(r *jobrecord.Record) []metrics.Point {
	tags := map[string]string{
		"job": r.Job, "vm_id": r.VMID, "vm_name": r.VMName, "requested_type": r.Requested, "type": r.Type,
		"result": r.Result, "error_class": r.ErrorClass, "host": r.Host,
	}
	f := map[string]any{
		"job_id": r.JobID, "duration_seconds": r.Seconds, "archive": r.Archive,
		"bytes_read": r.BytesRead, "bytes_zero": r.BytesZero, "bytes_new": r.BytesNew, "bytes_stored": r.BytesStored,
		"chunks": r.Chunks, "new_chunks": r.NewChunks, "read_seconds": r.ReadSeconds,
		"new_incompressible_share": r.NewIncompressibleShare, "anomaly": r.Anomaly != nil,
		"failed": boolInt(r.Result != jobrecord.OK),
	}
	if r.BytesNew > 0 {
		f["dedup_ratio"] = float64(r.BytesRead-r.BytesZero) / float64(r.BytesNew)
	}
	if r.ReadSeconds > 0 {
		f["read_mb_per_s"] = backup.Rate(r.BytesRead, r.ReadSeconds)
	}
	if r.Seconds > 0 {
		f["mb_per_s"] = backup.Rate(r.BytesRead, r.Seconds)
	}
	if r.Error != "" {
		f["error"] = r.Error
	}
	pts := []metrics.Point{{Measurement: "rb_job", Tags: tags, Fields: f, Time: r.End}}
	for _, d := range r.Disks {
		dt := map[string]string{"disk": d.Label}
		for k, v := range tags {
			dt[k] = v
		}
		df := map[string]any{"job_id": r.JobID, "size_bytes": d.Size, "read_seconds": d.ReadSeconds}
		if d.ReadSeconds > 0 {
			df["read_mb_per_s"] = backup.Rate(d.Size, d.ReadSeconds)
		}
		pts = append(pts, metrics.Point{Measurement: "rb_disk", Tags: dt, Fields: df, Time: r.End})
	}
	return pts
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sendInflux sends the job's points (and what earlier runs spooled),
// waiting at most influxdb_max_delay.
func sendInflux(cfg *config.Config, r *jobrecord.Record, log *logging.Logger) {
	o := influxOptions(cfg)
	o.Warn = func(f string, args ...any) { log.Warnf(f, args...) }
	w, err := metrics.New(o)
	if err != nil {
		log.Warnf("monitoring: %v", err)
		return
	}
	for _, p := range jobPoints(r) {
		w.Add(p)
	}
	st := w.Close(cfg.InfluxMaxDelay)
	if st.Sent > 0 || st.Spooled > 0 || st.Dropped > 0 || st.Rejected > 0 {
		log.Infof("monitoring: InfluxDB %s: %d point(s) sent (%d from earlier runs), %d spooled, %d refused, %d dropped",
			metrics.SafeURL(cfg.InfluxURL), st.Sent, st.FromSpool, st.Spooled, st.Rejected, st.Dropped)
	}
}

// diskRecords are the per-disk figures of a VM backup.
func diskRecords(s *backup.VMResult) []jobrecord.Disk {
	if s == nil || s.Run == nil {
		return nil
	}
	var out []jobrecord.Disk
	for _, d := range s.Run.Disks {
		out = append(out, jobrecord.Disk{Label: d.Label, Size: d.Size, ReadSeconds: d.Duration.Seconds()})
	}
	return out
}

// anomalyLine is the summary line of an anomaly.
func anomalyLine(an *jobrecord.Anomaly) string {
	return fmt.Sprintf("ANOMALY   %s", an.Message)
}
