// Package check tests a configuration against the cloud and the machine,
// check by check (the test command, -t): Keystone reachable, the user and
// the project, rubackup-vm-id, Cinder, the admin account, the state dir,
// and when configured InfluxDB (ping and a test write) and the Prometheus
// textfile directory. It
// tells apart the causes Keystone answers 401 for alike, and skips a check
// that an earlier failure makes pointless, saying why.
//
// It reports each check through Run.Line; it does not know how the lines
// are printed or logged, the command line, or exit codes.
package check
