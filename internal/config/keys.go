package config

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/units"
)

// kind says how a key's value is read.
type kind int

const (
	kindString  kind = iota // any text
	kindSecret              // any text, never echoed in an error or listing
	kindSeconds             // whole seconds in [min, max]
	kindInt                 // whole number in [min, max]
	kindBool                // yes | no
	kindFlag                // yes | no, or the key alone on a line (= yes)
	kindEnum                // one of choices
	kindSize                // bytes with an optional K or M suffix, in [min, max]
)

// keySpec describes one configuration key.
type keySpec struct {
	name     string
	kind     kind
	def      string // default, written as in the file; "" = unset
	min, max int    // ranges for kindSeconds, kindInt, kindSize
	choices  []string
	check    func(string) error // kindString: further validation (its error never echoes secrets: none are checked)
	ruleOnly bool               // usually given as a rule parameter (documentation only)
	doc      string             // one line for listings
	// set stores an already validated value into the config.
	set func(c *Config, v value)
}

// value is a parsed, validated value of any kind.
type value struct {
	s string
	n int
	b bool
}

// maxKeep bounds the keep_* counts.
const maxKeep = 1000000

const (
	kib = 1 << 10
	mib = 1 << 20
)

// keys is the table of every known key, in the order of the sample file.
func keys() []keySpec {
	str := func(f func(*Config) *string) func(*Config, value) {
		return func(c *Config, v value) { *f(c) = v.s }
	}
	dur := func(f func(*Config) *time.Duration) func(*Config, value) {
		return func(c *Config, v value) { *f(c) = time.Duration(v.n) * time.Second }
	}
	num := func(f func(*Config) *int) func(*Config, value) {
		return func(c *Config, v value) { *f(c) = v.n }
	}
	flag := func(f func(*Config) *bool) func(*Config, value) {
		return func(c *Config, v value) { *f(c) = v.b }
	}
	return []keySpec{
		// The platform's keys.
		{name: "url", kind: kindString, check: checkKeystoneURL, doc: "Keystone v3 endpoint", set: str(func(c *Config) *string { return &c.URL })},
		{name: "username", kind: kindString, doc: "user name", set: str(func(c *Config) *string { return &c.Username })},
		{name: "password", kind: kindSecret, doc: "user password", set: str(func(c *Config) *string { return &c.Password })},
		{name: "domain", kind: kindString, doc: "user domain, by name", set: str(func(c *Config) *string { return &c.Domain })},
		{name: "project_id", kind: kindString, doc: "project scope, by id", set: str(func(c *Config) *string { return &c.ProjectID })},
		{name: "region", kind: kindString, doc: "region; NONE = any", set: str(func(c *Config) *string { return &c.Region })},
		{name: "timeout", kind: kindSeconds, def: "5", min: 1, max: 300, doc: "seconds per API request", set: dur(func(c *Config) *time.Duration { return &c.Timeout })},
		{name: "volume_creation_timeout", kind: kindSeconds, def: "300", min: 1, max: 86400, doc: "seconds to wait for a volume", set: dur(func(c *Config) *time.Duration { return &c.VolumeCreationTimeout })},
		{name: "snapshot_creation_timeout", kind: kindSeconds, def: "300", min: 1, max: 86400, doc: "seconds to wait for a snapshot", set: dur(func(c *Config) *time.Duration { return &c.SnapshotCreationTimeout })},
		{name: "volume_attachment_timeout", kind: kindSeconds, def: "300", min: 1, max: 86400, doc: "seconds to wait for attach/detach", set: dur(func(c *Config) *time.Duration { return &c.VolumeAttachmentTimeout })},
		{name: "rubackup-vm-id", kind: kindString, doc: "id of the proxy VM this module runs in", set: str(func(c *Config) *string { return &c.ProxyVMID })},
		{name: "admin_name", kind: kindString, doc: "admin account (hypervisor attributes)", set: str(func(c *Config) *string { return &c.AdminName })},
		{name: "admin_password", kind: kindSecret, doc: "admin password", set: str(func(c *Config) *string { return &c.AdminPassword })},
		{name: "protocol", kind: kindEnum, def: "ssh", choices: []string{"ssh", "tcp"}, doc: "libvirt transport", set: str(func(c *Config) *string { return &c.Protocol })},
		{name: "enable_ssl", kind: kindBool, def: "no", doc: "verify TLS against ca_info", set: flag(func(c *Config) *bool { return &c.EnableSSL })},
		{name: "ca_info", kind: kindString, doc: "CA bundle (PEM)", set: str(func(c *Config) *string { return &c.CAInfo })},
		{name: "curl_verbose", kind: kindFlag, def: "no", doc: "log every REST call (redacted)", set: flag(func(c *Config) *bool { return &c.CurlVerbose })},
		{name: "script_transport", kind: kindEnum, def: "virsh", choices: []string{"virsh", "ssh"}, doc: "how guest-agent commands reach the hypervisor", set: str(func(c *Config) *string { return &c.ScriptTransport })},
		{name: "ssh_user", kind: kindString, def: "root", doc: "ssh user on the hypervisor", set: str(func(c *Config) *string { return &c.SSHUser })},
		{name: "ssh_key_file", kind: kindString, doc: "ssh private key", set: str(func(c *Config) *string { return &c.SSHKeyFile })},
		{name: "ssh_connection_timeout", kind: kindSeconds, def: "10", min: 1, max: 300, doc: "seconds to connect by ssh", set: dur(func(c *Config) *time.Duration { return &c.SSHConnectionTimeout })},
		{name: "virsh_path", kind: kindString, def: "virsh", doc: "virsh program", set: str(func(c *Config) *string { return &c.VirshPath })},

		// Our own keys.
		{name: "state_dir", kind: kindString, def: "/opt/rubackup/var/rb_module_rustack", doc: "journals and locks", set: str(func(c *Config) *string { return &c.StateDir })},
		{name: "log_file", kind: kindString, def: "/opt/rubackup/log/RuBackup.log", doc: "log file", set: str(func(c *Config) *string { return &c.LogFile })},
		{name: "log_format", kind: kindEnum, def: "text", choices: []string{"text", "json"}, doc: "log lines: text, or json (one object per line, for log shippers)", set: str(func(c *Config) *string { return &c.LogFormat })},
		{name: "device_dir", kind: kindString, def: "/dev/disk/by-id", doc: "where attached volumes appear", set: str(func(c *Config) *string { return &c.DeviceDir })},
		{name: "pool", kind: kindString, def: "/opt/rubackup/backup/rustack", doc: "archive pool directory", set: str(func(c *Config) *string { return &c.Pool })},
		{name: "store", kind: kindString, check: checkStore, doc: "dedup store: a directory, swift://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX]; NONE = archive pool mode", set: str(func(c *Config) *string { return &c.Store })},
		{name: "master_key_file", kind: kindString, def: "/opt/rubackup/keys/master-key", doc: "master key", set: str(func(c *Config) *string { return &c.MasterKeyFile })},
		{name: "cipher", kind: kindEnum, def: "aes-256-gcm", choices: cipherChoices(), doc: "chunk and manifest cipher (rb_module_rustack algorithms lists them; docs/encryption.md)", set: func(c *Config, v value) { c.Cipher = crypt.Canonical(v.s) }},
		{name: "compression", kind: kindEnum, def: "zstd", choices: codec.Names(), doc: "chunk compression", set: str(func(c *Config) *string { return &c.Compression })},
		{name: "compression_level", kind: kindEnum, def: "fastest", choices: codec.Levels(), doc: "zstd level", set: str(func(c *Config) *string { return &c.CompressionLevel })},
		{name: "chunk_min", kind: kindSize, def: "16K", min: 4 * kib, max: 8 * mib, doc: "smallest chunk", set: num(func(c *Config) *int { return &c.ChunkMin })},
		{name: "chunk_avg", kind: kindSize, def: "64K", min: 4 * kib, max: 8 * mib, doc: "average chunk", set: num(func(c *Config) *int { return &c.ChunkAvg })},
		{name: "chunk_max", kind: kindSize, def: "256K", min: 4 * kib, max: 8 * mib, doc: "largest chunk", set: num(func(c *Config) *int { return &c.ChunkMax })},
		{name: "parallelism", kind: kindInt, def: "0", min: 0, max: 64, doc: "chunking workers; 0 = number of CPUs", set: func(c *Config, v value) {
			c.Parallelism = v.n
			if v.n == 0 {
				c.Parallelism = runtime.NumCPU()
			}
		}},
		{name: "disk_parallelism", kind: kindInt, def: "2", min: 1, max: 16, doc: "disks of one VM read at once", set: num(func(c *Config) *int { return &c.DiskParallelism })},
		{name: "guest_script", kind: kindString, def: "/opt/rubackup/scripts/rustack.sh", doc: "script in the guest run with before/after", set: str(func(c *Config) *string { return &c.GuestScript })},
		{name: "script_before_snapshot", kind: kindString, ruleOnly: true, doc: "guest command before the snapshot", set: str(func(c *Config) *string { return &c.ScriptBeforeSnapshot })},
		{name: "script_after_snapshot", kind: kindString, ruleOnly: true, doc: "guest command after the snapshot", set: str(func(c *Config) *string { return &c.ScriptAfterSnapshot })},
		{name: "script_timeout", kind: kindSeconds, def: "300", min: 1, max: 86400, doc: "seconds a guest script may run", set: dur(func(c *Config) *time.Duration { return &c.ScriptTimeout })},
		{name: "ignore_script_errors", kind: kindBool, def: "no", ruleOnly: true, doc: "continue when a guest script fails", set: flag(func(c *Config) *bool { return &c.IgnoreScriptErrors })},
		// Retention and garbage collection (docs/retention.md).
		{name: "keep_last", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the N newest archives of each VM (0 = rule off)", set: num(func(c *Config) *int { return &c.KeepLast })},
		{name: "keep_hourly", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the newest archive of each of the last N hours", set: num(func(c *Config) *int { return &c.KeepHourly })},
		{name: "keep_daily", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the newest archive of each of the last N days", set: num(func(c *Config) *int { return &c.KeepDaily })},
		{name: "keep_weekly", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the newest archive of each of the last N ISO weeks", set: num(func(c *Config) *int { return &c.KeepWeekly })},
		{name: "keep_monthly", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the newest archive of each of the last N months", set: num(func(c *Config) *int { return &c.KeepMonthly })},
		{name: "keep_yearly", kind: kindInt, def: "0", min: 0, max: maxKeep, doc: "retention: keep the newest archive of each of the last N years", set: num(func(c *Config) *int { return &c.KeepYearly })},
		{name: "keep_within", kind: kindString, check: checkWithin, doc: "retention: keep every archive within this of the VM's newest (e.g. 14d, 6m, 1y)", set: str(func(c *Config) *string { return &c.KeepWithin })},
		{name: "prune_max_unused", kind: kindInt, def: "10", min: 0, max: 100, doc: "percent of a pack that may be unused before prune rewrites it", set: num(func(c *Config) *int { return &c.PruneMaxUnused })},
		// The dedup store on object storage (docs/storage.md).
		{name: "store_auth_url", kind: kindString, check: checkKeystoneURL, doc: "swift:// store in another cloud: its Keystone v3 endpoint (default: url)", set: str(func(c *Config) *string { return &c.StoreAuthURL })},
		{name: "store_username", kind: kindString, doc: "swift:// store: user of the store's account (default: username, and then every store_* key defaults to the module's own)", set: str(func(c *Config) *string { return &c.StoreUsername })},
		{name: "store_password", kind: kindSecret, doc: "swift:// store: that user's password", set: str(func(c *Config) *string { return &c.StorePassword })},
		{name: "store_domain", kind: kindString, doc: "swift:// store: that user's domain, by name (default: domain)", set: str(func(c *Config) *string { return &c.StoreDomain })},
		{name: "store_project_id", kind: kindString, doc: "swift:// store: project whose account holds the container (default: project_id)", set: str(func(c *Config) *string { return &c.StoreProjectID })},
		{name: "store_region", kind: kindString, doc: "swift:// store: region of the object-store endpoint (default: region)", set: str(func(c *Config) *string { return &c.StoreRegion })},
		{name: "s3_endpoint", kind: kindString, check: checkHTTPURL, doc: "s3:// store: endpoint, http(s)://HOST[:PORT]", set: str(func(c *Config) *string { return &c.S3Endpoint })},
		{name: "s3_region", kind: kindString, doc: "s3:// store: region (default us-east-1)", set: str(func(c *Config) *string { return &c.S3Region })},
		{name: "s3_access_key", kind: kindString, doc: "s3:// store: access key id", set: str(func(c *Config) *string { return &c.S3AccessKey })},
		{name: "s3_secret_key", kind: kindSecret, doc: "s3:// store: secret access key", set: str(func(c *Config) *string { return &c.S3SecretKey })},
		{name: "s3_path_style", kind: kindBool, def: "no", doc: "s3:// store: bucket in the URL path (most servers but AWS), not in the host name", set: flag(func(c *Config) *bool { return &c.S3PathStyle })},
		{name: "s3_ca_file", kind: kindString, doc: "s3:// store: verify the endpoint's certificate against this CA bundle (PEM)", set: str(func(c *Config) *string { return &c.S3CAFile })},
		{name: "store_spool", kind: kindString, doc: "object store: local directory for packs before their upload (default: POOL/.spool)", set: str(func(c *Config) *string { return &c.StoreSpool })},
		{name: "store_timeout", kind: kindSeconds, def: "120", min: 5, max: 3600, doc: "object store: seconds one request attempt may take (a whole pack's upload)", set: dur(func(c *Config) *time.Duration { return &c.StoreTimeout })},
		{name: "store_parallel", kind: kindInt, def: "4", min: 1, max: 64, doc: "object store: uploads in flight per backup", set: num(func(c *Config) *int { return &c.StoreParallel })},
		{name: "store_cache", kind: kindSize, def: "64M", min: 4 * mib, max: 1024 * mib, doc: "object store: read cache of a restore or verify", set: num(func(c *Config) *int { return &c.StoreCache })},
		// Monitoring (docs/monitoring.md).
		{name: "influxdb_url", kind: kindString, check: checkInfluxURL, doc: "InfluxDB 1.x to send job metrics to, http(s)://HOST:PORT; NONE = off", set: str(func(c *Config) *string { return &c.InfluxURL })},
		{name: "influxdb_database", kind: kindString, def: "rb_module_rustack", doc: "InfluxDB database", set: str(func(c *Config) *string { return &c.InfluxDatabase })},
		{name: "influxdb_username", kind: kindString, doc: "InfluxDB user (NONE = no authentication)", set: str(func(c *Config) *string { return &c.InfluxUsername })},
		{name: "influxdb_password", kind: kindSecret, doc: "InfluxDB password", set: str(func(c *Config) *string { return &c.InfluxPassword })},
		{name: "influxdb_retention_policy", kind: kindString, doc: "InfluxDB retention policy (NONE = the database's default)", set: str(func(c *Config) *string { return &c.InfluxRetention })},
		{name: "influxdb_precision", kind: kindEnum, def: "ms", choices: []string{"ns", "u", "ms", "s"}, doc: "timestamp precision of the points", set: str(func(c *Config) *string { return &c.InfluxPrecision })},
		{name: "influxdb_ca_file", kind: kindString, doc: "https InfluxDB: verify its certificate against this CA bundle (PEM)", set: str(func(c *Config) *string { return &c.InfluxCAFile })},
		{name: "influxdb_batch_size", kind: kindInt, def: "500", min: 1, max: 100000, doc: "points sent in one request; a full batch is sent at once", set: num(func(c *Config) *int { return &c.InfluxBatchSize })},
		{name: "influxdb_flush_interval", kind: kindSeconds, def: "1", min: 1, max: 3600, doc: "seconds after which a partial batch is sent", set: dur(func(c *Config) *time.Duration { return &c.InfluxFlushInterval })},
		{name: "influxdb_buffer_size", kind: kindInt, def: "10000", min: 1, max: 10000000, doc: "points held in memory at most (the oldest are dropped beyond)", set: num(func(c *Config) *int { return &c.InfluxBufferSize })},
		{name: "influxdb_timeout", kind: kindSeconds, def: "5", min: 1, max: 300, doc: "seconds one write request may take", set: dur(func(c *Config) *time.Duration { return &c.InfluxTimeout })},
		{name: "influxdb_max_delay", kind: kindSeconds, def: "10", min: 0, max: 3600, doc: "seconds a job may wait at its end for its points to be delivered; the rest is spooled", set: dur(func(c *Config) *time.Duration { return &c.InfluxMaxDelay })},
		{name: "influxdb_spool_size", kind: kindSize, def: "16M", min: 0, max: 1024 * mib, doc: "bytes of undelivered points kept in state_dir for the next run (0 = none)", set: num(func(c *Config) *int { return &c.InfluxSpoolSize })},
		{name: "prometheus_textfile_dir", kind: kindString, doc: "directory of node_exporter's textfile collector; every job rewrites rb_module_rustack.prom there (NONE = off)", set: str(func(c *Config) *string { return &c.PrometheusTextfileDir })},
		{name: "job_history", kind: kindInt, def: "100", min: 1, max: 100000, doc: "job results kept per VM in state_dir (status, anomaly baseline)", set: num(func(c *Config) *int { return &c.JobHistory })},
		{name: "anomaly_factor", kind: kindInt, def: "4", min: 0, max: 1000, doc: "warn when a backup's new incompressible share exceeds this many times the VM's median (0 = off)", set: num(func(c *Config) *int { return &c.AnomalyFactor })},
		{name: "anomaly_min_percent", kind: kindInt, def: "20", min: 1, max: 100, doc: "... and is at least this percentage of the non-zero data read", set: num(func(c *Config) *int { return &c.AnomalyMinPercent })},
		{name: "lock_wait", kind: kindSeconds, def: "600", min: 0, max: 86400, doc: "seconds to wait for a lock another process holds", set: dur(func(c *Config) *time.Duration { return &c.LockWait })},
	}
}

// parseValue validates raw for spec. Its error never contains raw when the
// key is a secret (and secrets accept any text, so they never fail here).
func (k *keySpec) parseValue(raw string) (value, error) {
	switch k.kind {
	case kindString, kindSecret:
		if k.check != nil && raw != "" {
			if err := k.check(raw); err != nil {
				return value{}, err
			}
		}
		return value{s: raw}, nil
	case kindSeconds, kindInt:
		n, err := strconv.Atoi(raw)
		if err != nil || n < k.min || n > k.max {
			unit := ""
			if k.kind == kindSeconds {
				unit = " seconds"
			}
			return value{}, fmt.Errorf("%q is not a whole number in %d..%d%s", raw, k.min, k.max, unit)
		}
		return value{n: n, s: raw}, nil
	case kindBool, kindFlag:
		switch raw {
		case "yes":
			return value{b: true, s: raw}, nil
		case "no":
			return value{b: false, s: raw}, nil
		}
		return value{}, fmt.Errorf("%q is not yes or no", raw)
	case kindEnum:
		for _, c := range k.choices {
			if raw == c {
				return value{s: raw}, nil
			}
		}
		return value{}, fmt.Errorf("%q is not one of %s", raw, strings.Join(k.choices, ", "))
	case kindSize:
		n64, err := units.ParseSize(raw)
		n := int(n64)
		if err != nil {
			return value{}, fmt.Errorf("%q is not a size (bytes, or a number with K or M, e.g. 64K)", raw)
		}
		if n < k.min || n > k.max {
			return value{}, fmt.Errorf("%s is outside %s..%s", raw, FormatSize(k.min), FormatSize(k.max))
		}
		return value{n: n, s: raw}, nil
	}
	return value{}, fmt.Errorf("internal error: key %q has no kind", k.name)
}

// FormatSize writes n bytes the way the file does: 16K, 1M, or plain bytes.
func FormatSize(n int) string {
	switch {
	case n != 0 && n%mib == 0:
		return strconv.Itoa(n/mib) + "M"
	case n != 0 && n%kib == 0:
		return strconv.Itoa(n/kib) + "K"
	}
	return strconv.Itoa(n)
}

// cipherChoices are the registered cipher names, then their aliases
// (aes-256 for aes-256-gcm), which the configuration stores canonical.
func cipherChoices() []string {
	names := crypt.Names()
	var al []string
	for a := range crypt.Aliases() {
		al = append(al, a)
	}
	slices.Sort(al)
	return append(names, al...)
}
