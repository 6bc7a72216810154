package config

import "time"

// DefaultPath is where the platform installs the module's configuration.
const DefaultPath = "/opt/rubackup/etc/rb_module_rustack.conf"

// Config is the parsed configuration, with defaults applied and rule
// parameters merged. Durations are whole seconds in the file.
type Config struct {
	Path string // file the configuration was read from

	// Cloud access (platform keys).
	URL       string // Keystone v3 endpoint, e.g. https://host:5000/v3
	Username  string
	Password  string // secret
	Domain    string // user domain, by name
	ProjectID string // project scope, by id
	Region    string // "" when NONE or absent

	Timeout                 time.Duration // per request; 1..300 s, default 5 s
	VolumeCreationTimeout   time.Duration // default 300 s
	SnapshotCreationTimeout time.Duration // default 300 s
	VolumeAttachmentTimeout time.Duration // default 300 s

	ProxyVMID     string // rubackup-vm-id: the VM this module runs in
	AdminName     string // admin account, same domain and project
	AdminPassword string // secret

	Protocol    string // libvirt transport: "ssh" (default) | "tcp"
	EnableSSL   bool   // verify TLS against CAInfo
	CAInfo      string // CA bundle path
	CurlVerbose bool   // debug REST logging (redacted)

	ScriptTransport      string // "virsh" (default) | "ssh"
	SSHUser              string // default "root"
	SSHKeyFile           string
	SSHConnectionTimeout time.Duration // default 10 s
	VirshPath            string        // default "virsh"

	// Our own keys.
	StateDir         string // journals, locks; default /opt/rubackup/var/rb_module_rustack
	LogFile          string // default /opt/rubackup/log/RuBackup.log
	LogFormat        string // text (default) | json: one JSON object per line
	DeviceDir        string // default /dev/disk/by-id
	Pool             string // archive pool directory; default /opt/rubackup/backup/rustack
	Store            string // dedup store directory; "" = archive pool mode
	MasterKeyFile    string // default /opt/rubackup/keys/master-key
	Cipher           string // a registered cipher name (crypt.Names; aliases stored canonical); default "aes-256-gcm"
	Compression      string // "zstd" (default) | "none"
	CompressionLevel string // "fastest" (default) | "default" | "better"
	ChunkMin         int    // bytes; default 16 KiB
	ChunkAvg         int    // bytes; default 64 KiB
	ChunkMax         int    // bytes; default 256 KiB
	Parallelism      int    // chunking workers; default = number of CPUs
	DiskParallelism  int    // disks of one VM read at once; default 2

	// Guest scripts (usually rule parameters).
	GuestScript          string        // default /opt/rubackup/scripts/rustack.sh
	ScriptBeforeSnapshot string        // replaces GuestScript "before" when set
	ScriptAfterSnapshot  string        // replaces GuestScript "after" when set
	ScriptTimeout        time.Duration // default 300 s
	IgnoreScriptErrors   bool          // default no

	// Retention (docs/retention.md): when any keep_* key is set, a
	// successful backup applies the policy to its VM afterwards.
	KeepLast, KeepHourly, KeepDaily, KeepWeekly, KeepMonthly, KeepYearly int
	KeepWithin                                                           string        // calendar duration, e.g. 14d, 6m, 1y
	PruneMaxUnused                                                       int           // percent of a pack unused before prune rewrites it; default 10
	LockWait                                                             time.Duration // how long to wait for a lock another process holds; default 600 s

	// The dedup store on object storage (docs/storage.md).
	StoreAuthURL, StoreUsername, StorePassword, StoreDomain, StoreProjectID, StoreRegion string // swift:// in another cloud
	S3Endpoint, S3Region, S3AccessKey, S3SecretKey, S3CAFile                             string // s3://
	S3PathStyle                                                                          bool
	StoreSpool                                                                           string        // default POOL/.spool
	StoreTimeout                                                                         time.Duration // one request attempt; default 120 s
	StoreParallel                                                                        int           // uploads in flight; default 4
	StoreCache                                                                           int           // read cache bytes; default 64 MiB

	// Monitoring (docs/monitoring.md).
	InfluxURL             string        // InfluxDB 1.x base URL, http(s)://HOST:PORT; "" = off
	InfluxDatabase        string        // default "rb_module_rustack"
	InfluxUsername        string        //
	InfluxPassword        string        // secret
	InfluxRetention       string        // retention policy; "" = the database's default
	InfluxPrecision       string        // ns | u | ms | s; default "ms"
	InfluxCAFile          string        // CA bundle for https
	InfluxBatchSize       int           // points per request; default 500
	InfluxFlushInterval   time.Duration // a partial batch is sent after this; default 1 s
	InfluxBufferSize      int           // points held in memory at most; default 10000
	InfluxTimeout         time.Duration // one request; default 5 s
	InfluxMaxDelay        time.Duration // how long a job may wait for delivery at its end; default 10 s
	InfluxSpoolSize       int           // bytes of undelivered points kept in state_dir; default 16 MiB
	PrometheusTextfileDir string        // node_exporter textfile collector directory; "" = off
	JobHistory            int           // job records kept per VM in state_dir; default 100
	AnomalyFactor         int           // new-incompressible share above this many times the VM's median warns; 0 = off; default 4
	AnomalyMinPercent     int           // ... and at least this many percent of the data read; default 20

	// Params holds every rule parameter given with --param, after merge.
	Params map[string]string

	// origins maps a key to where its value came from: "FILE:LINE",
	// `rule parameter "k"`, or absent for a default. See Origin.
	origins map[string]string
	// shown maps a key to its value as written (secrets excluded). See Entries.
	shown map[string]string
}
