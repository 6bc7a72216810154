// Package promfile writes the module's file for node_exporter's textfile
// collector: per VM and job type the last run, last success, duration,
// bytes, result and anomaly flag, as Prometheus text-format gauges. Every
// job rewrites the file atomically (temporary file, fsync, rename) under a
// lock, keeping the series of the other VMs and job types found in it.
//
// It knows nothing about backups or the configuration: the caller gives
// the values of one series set.
package promfile
