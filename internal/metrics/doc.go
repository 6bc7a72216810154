// Package metrics sends points to InfluxDB 1.x: the line protocol encoder
// (Point), a buffered, batching writer with retries and backoff (Writer),
// and a bounded on-disk spool of the points a short-lived process could not
// deliver before it ended, which the next process sends.
//
// It knows nothing about backups, archives or the configuration file: the
// caller builds the points and the Options.
package metrics
