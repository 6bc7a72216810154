package config

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/crypt"
)

const secretPW = "s3cr3t-Pa55word#with spaces"
const secretAdmin = "adm1n-Secret-XYZ"

func parse(t *testing.T, text string, params map[string]string) (*Config, error) {
	t.Helper()
	return Parse("test.conf", strings.NewReader(text), params)
}

func mustParse(t *testing.T, text string, params map[string]string) *Config {
	t.Helper()
	c, err := parse(t, text, params)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "", nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"timeout", c.Timeout, 5 * time.Second},
		{"volume_creation_timeout", c.VolumeCreationTimeout, 300 * time.Second},
		{"snapshot_creation_timeout", c.SnapshotCreationTimeout, 300 * time.Second},
		{"volume_attachment_timeout", c.VolumeAttachmentTimeout, 300 * time.Second},
		{"protocol", c.Protocol, "ssh"},
		{"enable_ssl", c.EnableSSL, false},
		{"curl_verbose", c.CurlVerbose, false},
		{"script_transport", c.ScriptTransport, "virsh"},
		{"ssh_user", c.SSHUser, "root"},
		{"ssh_connection_timeout", c.SSHConnectionTimeout, 10 * time.Second},
		{"virsh_path", c.VirshPath, "virsh"},
		{"region", c.Region, ""},
		{"state_dir", c.StateDir, "/opt/rubackup/var/rb_module_rustack"},
		{"log_file", c.LogFile, "/opt/rubackup/log/RuBackup.log"},
		{"log_format", c.LogFormat, "text"},
		{"device_dir", c.DeviceDir, "/dev/disk/by-id"},
		{"pool", c.Pool, "/opt/rubackup/backup/rustack"},
		{"store", c.Store, ""},
		{"master_key_file", c.MasterKeyFile, "/opt/rubackup/keys/master-key"},
		{"cipher", c.Cipher, "aes-256-gcm"},
		{"compression", c.Compression, "zstd"},
		{"compression_level", c.CompressionLevel, "fastest"},
		{"chunk_min", c.ChunkMin, 16 << 10},
		{"chunk_avg", c.ChunkAvg, 64 << 10},
		{"chunk_max", c.ChunkMax, 256 << 10},
		{"parallelism", c.Parallelism, runtime.NumCPU()},
		{"disk_parallelism", c.DiskParallelism, 2},
		{"guest_script", c.GuestScript, "/opt/rubackup/scripts/rustack.sh"},
		{"script_timeout", c.ScriptTimeout, 300 * time.Second},
		{"ignore_script_errors", c.IgnoreScriptErrors, false},
		{"path", c.Path, "test.conf"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Origin("timeout") != "default" {
		t.Errorf("Origin(timeout) = %q, want default", c.Origin("timeout"))
	}
}

func TestFullFile(t *testing.T) {
	text := strings.Join([]string{
		"# a comment",
		"   # an indented comment",
		"",
		"url https://cloud.example:5000/v3",
		"username\tbackup-user",
		"password " + secretPW,
		"domain   backup-domain  ",
		"project_id 0123abcd",
		"region RegionOne",
		"timeout 30",
		"volume_creation_timeout 600",
		"snapshot_creation_timeout 700",
		"volume_attachment_timeout 800",
		"rubackup-vm-id 11111111-2222",
		"admin_name admin",
		"admin_password " + secretAdmin,
		"protocol tcp",
		"enable_ssl yes",
		"ca_info /etc/ssl/ca.pem",
		"curl_verbose",
		"script_transport ssh",
		"ssh_user cloud",
		"ssh_key_file /root/.ssh/id_ed25519",
		"ssh_connection_timeout 20",
		"virsh_path /usr/bin/virsh",
		"state_dir /var/lib/rb",
		"log_file /var/log/rb.log",
		"log_format json",
		"device_dir /tmp/byid",
		"pool /srv/pool",
		"store /srv/store",
		"master_key_file /etc/rb/key",
		"cipher chacha20-poly1305",
		"compression none",
		"compression_level better",
		"chunk_min 8K",
		"chunk_avg 32k",
		"chunk_max 1M",
		"parallelism 3",
		"disk_parallelism 4",
		"guest_script /usr/local/bin/freeze.sh",
		"script_before_snapshot fsfreeze -f /",
		"script_after_snapshot fsfreeze -u /",
		"script_timeout 60",
		"ignore_script_errors yes",
		"keep_last 3",
		"keep_hourly 24",
		"keep_daily 7",
		"keep_weekly 4",
		"keep_monthly 12",
		"keep_yearly 2",
		"keep_within 1y6m",
		"prune_max_unused 25",
		"lock_wait 30",
		"store_auth_url https://other.example:5000/v3",
		"store_username store-user",
		"store_password " + secretPW + "-store",
		"store_domain store-domain",
		"store_project_id 99aa",
		"store_region RegionTwo",
		"s3_endpoint https://s3.example:9000",
		"s3_region eu-central-1",
		"s3_access_key AKIAEXAMPLE",
		"s3_secret_key " + secretPW + "-s3",
		"s3_path_style yes",
		"s3_ca_file /etc/ssl/s3.pem",
		"store_spool /var/tmp/spool",
		"store_timeout 300",
		"store_parallel 8",
		"store_cache 128M",
		"influxdb_url https://influx.example:8086",
		"influxdb_database backups",
		"influxdb_username writer",
		"influxdb_password " + secretPW + "-influx",
		"influxdb_retention_policy month",
		"influxdb_precision s",
		"influxdb_ca_file /etc/ssl/influx.pem",
		"influxdb_batch_size 50",
		"influxdb_flush_interval 3",
		"influxdb_buffer_size 2000",
		"influxdb_timeout 7",
		"influxdb_max_delay 0",
		"influxdb_spool_size 1M",
		"prometheus_textfile_dir /var/lib/node",
		"job_history 20",
		"anomaly_factor 6",
		"anomaly_min_percent 30",
	}, "\n") + "\n"
	c := mustParse(t, text, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"url", c.URL, "https://cloud.example:5000/v3"},
		{"username", c.Username, "backup-user"},
		{"password", c.Password, secretPW},
		{"domain", c.Domain, "backup-domain"},
		{"project_id", c.ProjectID, "0123abcd"},
		{"region", c.Region, "RegionOne"},
		{"timeout", c.Timeout, 30 * time.Second},
		{"volume_creation_timeout", c.VolumeCreationTimeout, 600 * time.Second},
		{"snapshot_creation_timeout", c.SnapshotCreationTimeout, 700 * time.Second},
		{"volume_attachment_timeout", c.VolumeAttachmentTimeout, 800 * time.Second},
		{"rubackup-vm-id", c.ProxyVMID, "11111111-2222"},
		{"admin_name", c.AdminName, "admin"},
		{"admin_password", c.AdminPassword, secretAdmin},
		{"protocol", c.Protocol, "tcp"},
		{"enable_ssl", c.EnableSSL, true},
		{"ca_info", c.CAInfo, "/etc/ssl/ca.pem"},
		{"curl_verbose", c.CurlVerbose, true},
		{"script_transport", c.ScriptTransport, "ssh"},
		{"ssh_user", c.SSHUser, "cloud"},
		{"ssh_key_file", c.SSHKeyFile, "/root/.ssh/id_ed25519"},
		{"ssh_connection_timeout", c.SSHConnectionTimeout, 20 * time.Second},
		{"virsh_path", c.VirshPath, "/usr/bin/virsh"},
		{"state_dir", c.StateDir, "/var/lib/rb"},
		{"log_file", c.LogFile, "/var/log/rb.log"},
		{"log_format", c.LogFormat, "json"},
		{"device_dir", c.DeviceDir, "/tmp/byid"},
		{"pool", c.Pool, "/srv/pool"},
		{"store", c.Store, "/srv/store"},
		{"master_key_file", c.MasterKeyFile, "/etc/rb/key"},
		{"cipher", c.Cipher, "chacha20-poly1305"},
		{"compression", c.Compression, "none"},
		{"compression_level", c.CompressionLevel, "better"},
		{"chunk_min", c.ChunkMin, 8 << 10},
		{"chunk_avg", c.ChunkAvg, 32 << 10},
		{"chunk_max", c.ChunkMax, 1 << 20},
		{"parallelism", c.Parallelism, 3},
		{"disk_parallelism", c.DiskParallelism, 4},
		{"guest_script", c.GuestScript, "/usr/local/bin/freeze.sh"},
		{"script_before_snapshot", c.ScriptBeforeSnapshot, "fsfreeze -f /"},
		{"script_after_snapshot", c.ScriptAfterSnapshot, "fsfreeze -u /"},
		{"script_timeout", c.ScriptTimeout, 60 * time.Second},
		{"ignore_script_errors", c.IgnoreScriptErrors, true},
		{"keep_last", c.KeepLast, 3},
		{"keep_hourly", c.KeepHourly, 24},
		{"keep_daily", c.KeepDaily, 7},
		{"keep_weekly", c.KeepWeekly, 4},
		{"keep_monthly", c.KeepMonthly, 12},
		{"keep_yearly", c.KeepYearly, 2},
		{"keep_within", c.KeepWithin, "1y6m"},
		{"prune_max_unused", c.PruneMaxUnused, 25},
		{"lock_wait", c.LockWait, 30 * time.Second},
		{"store_auth_url", c.StoreAuthURL, "https://other.example:5000/v3"},
		{"store_username", c.StoreUsername, "store-user"},
		{"store_password", c.StorePassword, secretPW + "-store"},
		{"store_domain", c.StoreDomain, "store-domain"},
		{"store_project_id", c.StoreProjectID, "99aa"},
		{"store_region", c.StoreRegion, "RegionTwo"},
		{"s3_endpoint", c.S3Endpoint, "https://s3.example:9000"},
		{"s3_region", c.S3Region, "eu-central-1"},
		{"s3_access_key", c.S3AccessKey, "AKIAEXAMPLE"},
		{"s3_secret_key", c.S3SecretKey, secretPW + "-s3"},
		{"s3_path_style", c.S3PathStyle, true},
		{"s3_ca_file", c.S3CAFile, "/etc/ssl/s3.pem"},
		{"store_spool", c.StoreSpool, "/var/tmp/spool"},
		{"store_timeout", c.StoreTimeout, 300 * time.Second},
		{"store_parallel", c.StoreParallel, 8},
		{"store_cache", c.StoreCache, 128 << 20},
		{"influxdb_url", c.InfluxURL, "https://influx.example:8086"},
		{"influxdb_database", c.InfluxDatabase, "backups"},
		{"influxdb_username", c.InfluxUsername, "writer"},
		{"influxdb_password", c.InfluxPassword, secretPW + "-influx"},
		{"influxdb_retention_policy", c.InfluxRetention, "month"},
		{"influxdb_precision", c.InfluxPrecision, "s"},
		{"influxdb_ca_file", c.InfluxCAFile, "/etc/ssl/influx.pem"},
		{"influxdb_batch_size", c.InfluxBatchSize, 50},
		{"influxdb_flush_interval", c.InfluxFlushInterval, 3 * time.Second},
		{"influxdb_buffer_size", c.InfluxBufferSize, 2000},
		{"influxdb_timeout", c.InfluxTimeout, 7 * time.Second},
		{"influxdb_max_delay", c.InfluxMaxDelay, time.Duration(0)},
		{"influxdb_spool_size", c.InfluxSpoolSize, 1 << 20},
		{"prometheus_textfile_dir", c.PrometheusTextfileDir, "/var/lib/node"},
		{"job_history", c.JobHistory, 20},
		{"anomaly_factor", c.AnomalyFactor, 6},
		{"anomaly_min_percent", c.AnomalyMinPercent, 30},
	}
	for _, bad := range []string{"store s3://Bad_Bucket", "store ftp://x/y", "store swift://", "s3_endpoint 127.0.0.1:8080", "store swift://c/.hidden"} {
		if _, err := Parse("t.conf", strings.NewReader(bad+"\n"), nil); err == nil || !strings.Contains(err.Error(), "t.conf:1") {
			t.Errorf("%s: %v, want an error naming the line", bad, err)
		}
	}
	if _, err := Parse("t.conf", strings.NewReader("influxdb_url http://w:hidden-pw@influx:8086\n"), nil); err == nil || strings.Contains(err.Error(), "hidden-pw") || !strings.Contains(err.Error(), "influxdb_password") {
		t.Errorf("influxdb_url with a password: %v", err)
	}
	if p, err := c.Retention(); err != nil || p.String() == "" || p.Within.Years != 1 || p.Within.Months != 6 || p.Daily != 7 {
		t.Errorf("Retention() = %+v, %v", p, err)
	}
	if _, err := Parse("t.conf", strings.NewReader("keep_within 3x\n"), nil); err == nil || !strings.Contains(err.Error(), "keep_within") {
		t.Errorf("keep_within 3x: %v", err)
	}
	if _, err := Parse("t.conf", strings.NewReader("keep_daily -1\n"), nil); err == nil || !strings.Contains(err.Error(), "keep_daily") {
		t.Errorf("keep_daily -1: %v", err)
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if got := c.Origin("timeout"); got != "test.conf:10" {
		t.Errorf("Origin(timeout) = %q, want test.conf:10", got)
	}
	// Every key of the table appears in this test file.
	for _, k := range keys() {
		if !strings.Contains(text, "\n"+k.name+" ") && !strings.Contains(text, "\n"+k.name+"\t") && !strings.Contains(text, "\n"+k.name+"\n") {
			t.Errorf("key %q is not exercised by TestFullFile", k.name)
		}
	}
}

func TestHashMidLineIsValue(t *testing.T) {
	c := mustParse(t, "password abc#def # not a comment\nssh_key_file /keys/#1\n", nil)
	if c.Password != "abc#def # not a comment" {
		t.Errorf("password = %q", c.Password)
	}
	if c.SSHKeyFile != "/keys/#1" {
		t.Errorf("ssh_key_file = %q", c.SSHKeyFile)
	}
	// A '#' at the start of a line (after spaces) comments out the whole line,
	// including what looks like a key.
	c = mustParse(t, "  #timeout 0\n\t# url x\n", nil)
	if c.Timeout != 5*time.Second || c.URL != "" {
		t.Errorf("commented lines were read: timeout %v url %q", c.Timeout, c.URL)
	}
}

func TestValueKeepsInnerSpacesAndTrimsTrailing(t *testing.T) {
	c := mustParse(t, "script_before_snapshot \t  /bin/sh -c 'sync;  sync'  \t \n", nil)
	if c.ScriptBeforeSnapshot != "/bin/sh -c 'sync;  sync'" {
		t.Errorf("value = %q", c.ScriptBeforeSnapshot)
	}
}

func TestNONE(t *testing.T) {
	c := mustParse(t, "region NONE\nstore NONE\ntimeout NONE\nssh_user NONE\npassword NONE\n", nil)
	if c.Region != "" || c.Store != "" || c.Password != "" {
		t.Errorf("NONE left a value: region %q store %q password set %v", c.Region, c.Store, c.Password != "")
	}
	if c.Timeout != 5*time.Second || c.SSHUser != "root" {
		t.Errorf("NONE did not restore the default: timeout %v ssh_user %q", c.Timeout, c.SSHUser)
	}
	// A rule parameter NONE unsets a file value.
	c = mustParse(t, "store /srv/store\n", map[string]string{"store": "NONE"})
	if c.Store != "" {
		t.Errorf("store = %q after --param store=NONE", c.Store)
	}
	// "none" (lower case) is a value, not NONE.
	c = mustParse(t, "region none\n", nil)
	if c.Region != "none" {
		t.Errorf("region = %q", c.Region)
	}
}

func TestCRLF(t *testing.T) {
	c := mustParse(t, "# comment\r\nurl http://x/v3\r\ntimeout 7\r\nenable_ssl yes\r\ncurl_verbose\r\n\r\n", nil)
	if c.URL != "http://x/v3" || c.Timeout != 7*time.Second || !c.EnableSSL || !c.CurlVerbose {
		t.Errorf("CRLF file misread: %+v", c)
	}
}

func TestByteOrderMark(t *testing.T) {
	c := mustParse(t, "\xef\xbb\xbfurl http://x/v3\n", nil)
	if c.URL != "http://x/v3" {
		t.Errorf("url = %q", c.URL)
	}
}

func TestNoTrailingNewline(t *testing.T) {
	c := mustParse(t, "timeout 9", nil)
	if c.Timeout != 9*time.Second {
		t.Errorf("timeout = %v", c.Timeout)
	}
}

func TestCurlVerboseForms(t *testing.T) {
	for text, want := range map[string]bool{
		"curl_verbose\n":     true,
		"  curl_verbose  \n": true,
		"curl_verbose yes\n": true,
		"curl_verbose no\n":  false,
		"":                   false,
	} {
		c := mustParse(t, text, nil)
		if c.CurlVerbose != want {
			t.Errorf("%q: curl_verbose = %v, want %v", text, c.CurlVerbose, want)
		}
	}
	wantErr(t, "curl_verbose 1\n", nil, `test.conf:1: key "curl_verbose": "1" is not yes or no`)
}

func TestBooleans(t *testing.T) {
	for _, bad := range []string{"true", "false", "Yes", "NO", "1", "0", "on", "y"} {
		wantErr(t, "enable_ssl "+bad+"\n", nil, `test.conf:1: key "enable_ssl": "`+bad+`" is not yes or no`)
		wantErr(t, "\nignore_script_errors "+bad+"\n", nil, `test.conf:2: key "ignore_script_errors"`)
	}
}

func TestRanges(t *testing.T) {
	good := map[string]time.Duration{"timeout 1": time.Second, "timeout 300": 300 * time.Second}
	for text, want := range good {
		if c := mustParse(t, text+"\n", nil); c.Timeout != want {
			t.Errorf("%s: %v", text, c.Timeout)
		}
	}
	bad := map[string]string{
		"timeout 0":                       `test.conf:1: key "timeout": "0" is not a whole number in 1..300 seconds`,
		"timeout 301":                     `test.conf:1: key "timeout": "301" is not a whole number in 1..300 seconds`,
		"timeout -5":                      `key "timeout"`,
		"timeout 5s":                      `key "timeout"`,
		"timeout 2.5":                     `key "timeout"`,
		"timeout 99999999999999999999999": `key "timeout"`,
		"volume_creation_timeout 0":       `"0" is not a whole number in 1..86400 seconds`,
		"snapshot_creation_timeout 86401": `key "snapshot_creation_timeout"`,
		"volume_attachment_timeout x":     `key "volume_attachment_timeout"`,
		"ssh_connection_timeout 301":      `key "ssh_connection_timeout"`,
		"script_timeout 0":                `key "script_timeout"`,
		"parallelism 65":                  `"65" is not a whole number in 0..64`,
		"parallelism -1":                  `key "parallelism"`,
		"disk_parallelism 0":              `"0" is not a whole number in 1..16`,
		"disk_parallelism 17":             `key "disk_parallelism"`,
		"protocol http":                   `key "protocol": "http" is not one of ssh, tcp`,
		"script_transport rsh":            `key "script_transport": "rsh" is not one of virsh, ssh`,
		"cipher aes":                      `key "cipher"`,
		"compression gzip":                `key "compression"`,
		"compression_level max":           `key "compression_level"`,
		"chunk_min 2K":                    `key "chunk_min": 2K is outside 4K..8M`,
		"chunk_max 9M":                    `key "chunk_max": 9M is outside 4K..8M`,
		"chunk_avg 64X":                   `key "chunk_avg": "64X" is not a size`,
		"chunk_avg K":                     `key "chunk_avg"`,
		"chunk_avg 99999999999999M":       `key "chunk_avg"`,
	}
	for text, want := range bad {
		wantErr(t, text+"\n", nil, want)
	}
}

func TestChunkOrder(t *testing.T) {
	c := mustParse(t, "chunk_min 4096\nchunk_avg 8KiB\nchunk_max 8M\n", nil)
	if c.ChunkMin != 4096 || c.ChunkAvg != 8192 || c.ChunkMax != 8<<20 {
		t.Errorf("chunks %d %d %d", c.ChunkMin, c.ChunkAvg, c.ChunkMax)
	}
	wantErr(t, "url http://x\nchunk_avg 16K\n", nil, `test.conf:2: key "chunk_avg": chunk_min 16K must be smaller than chunk_avg (16K)`)
	wantErr(t, "chunk_max 32K\n", nil, `test.conf:1: key "chunk_max": chunk_avg 64K must be smaller than chunk_max (32K)`)
	wantErr(t, "chunk_min 128K\n", nil, `test.conf:1: key "chunk_min": chunk_min 128K must be smaller than chunk_avg (64K)`)
	wantErr(t, "", map[string]string{"chunk_max": "64K"}, `rule parameter "chunk_max": key "chunk_max": chunk_avg 64K`)
}

// TestCompressionLevel: the level must be one of the chosen codec's.
func TestCompressionLevel(t *testing.T) {
	if c := mustParse(t, "compression s2\ncompression_level better\n", nil); c.Compression != "s2" || c.CompressionLevel != "better" {
		t.Errorf("s2 better: %q %q", c.Compression, c.CompressionLevel)
	}
	mustParse(t, "compression s2\n", nil)                             // the default level, fastest, is one of s2's
	mustParse(t, "compression none\ncompression_level better\n", nil) // none has no levels: ignored
	wantErr(t, "compression s2\ncompression_level default\n", nil, `test.conf:2: key "compression_level": "default" is not a level of s2: want fastest, better`)
	wantErr(t, "compression_level default\n", map[string]string{"compression": "s2"}, `"default" is not a level of s2`)
}

func TestDuplicateKey(t *testing.T) {
	wantErr(t, "url http://a\n# c\ntimeout 5\nurl http://b\n", nil, `test.conf:4: key "url" is set twice, on lines 1 and 4`)
	// Duplicate secret: names the lines, never the values.
	err := wantErr(t, "password "+secretPW+"\npassword other-secret\n", nil, `test.conf:2: key "password" is set twice, on lines 1 and 2`)
	if strings.Contains(err.Error(), "other-secret") {
		t.Errorf("duplicate error leaks a password: %v", err)
	}
}

func TestUnknownKey(t *testing.T) {
	wantErr(t, "url http://x\n\nfoo bar\n", nil, `test.conf:3: unknown key "foo"`)
	wantErr(t, "URL x\n", nil, `test.conf:1: unknown key "URL" (did you mean "url"?)`)
	wantErr(t, "rubackup_vm_id x\n", nil, `unknown key "rubackup_vm_id" (did you mean "rubackup-vm-id"?)`)
	wantErr(t, "ssh-user x\n", nil, `(did you mean "ssh_user"?)`)
	err := wantErr(t, "passwd "+secretPW+"\n", nil, `test.conf:1: unknown key "passwd"`)
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("unknown-key error shows the value: %v", err)
	}
	long := strings.Repeat("k", 200)
	err = wantErr(t, long+"\n", nil, `unknown key "kkkk`)
	if len(err.Error()) > 120 {
		t.Errorf("unknown-key error is not shortened: %d bytes", len(err.Error()))
	}
}

func TestMissingValue(t *testing.T) {
	wantErr(t, "url\n", nil, `test.conf:1: key "url" has no value`)
	wantErr(t, "timeout   \t\n", nil, `test.conf:1: key "timeout" has no value`)
	wantErr(t, "password\n", nil, `test.conf:1: key "password" has no value`)
}

func TestParams(t *testing.T) {
	file := "url http://file/v3\ntimeout 10\nscript_before_snapshot file-before\n"
	c := mustParse(t, file, map[string]string{
		"timeout":                "20",
		"script_before_snapshot": " sync ",
		"ignore_script_errors":   "yes",
		"retention":              "7",    // a rule parameter for someone else
		"script_after_snapshot":  "",     // empty: unset
		"enable_ssl":             "NONE", // default
	})
	if c.Timeout != 20*time.Second {
		t.Errorf("timeout = %v, want the rule parameter's 20s", c.Timeout)
	}
	if c.URL != "http://file/v3" {
		t.Errorf("url = %q", c.URL)
	}
	if c.ScriptBeforeSnapshot != "sync" || !c.IgnoreScriptErrors || c.ScriptAfterSnapshot != "" {
		t.Errorf("rule params not applied: %q %v %q", c.ScriptBeforeSnapshot, c.IgnoreScriptErrors, c.ScriptAfterSnapshot)
	}
	if c.Params["retention"] != "7" || c.Params["timeout"] != "20" || len(c.Params) != 6 {
		t.Errorf("Params = %v", c.Params)
	}
	if got := c.Origin("timeout"); got != `rule parameter "timeout"` {
		t.Errorf("Origin = %q", got)
	}
	wantErr(t, file, map[string]string{"timeout": "0"}, `rule parameter "timeout": "0" is not a whole number in 1..300 seconds`)
	wantErr(t, file, map[string]string{"ignore_script_errors": "true"}, `rule parameter "ignore_script_errors": "true" is not yes or no`)
	// Params are not subject to duplicate checks against the file.
	if c := mustParse(t, "password a\n", map[string]string{"password": secretPW}); c.Password != secretPW {
		t.Errorf("password param did not win")
	}
	if c := mustParse(t, "", nil); c.Params == nil {
		t.Errorf("Params is nil")
	}
}

func TestRequire(t *testing.T) {
	full := "url http://u\nusername n\npassword " + secretPW + "\ndomain d\nproject_id p\n"
	c := mustParse(t, full, nil)
	for _, op := range []string{"list", "test", "image", "verify", "archives", "keygen", "key", "demo"} {
		if err := c.Require(op); err != nil {
			t.Errorf("Require(%s): %v", op, err)
		}
	}
	err := c.Require("backup")
	if err == nil || err.Error() != "test.conf: backup needs the key rubackup-vm-id; set them in the file or with --param key=value" {
		t.Errorf("Require(backup) = %v", err)
	}
	c = mustParse(t, full+"rubackup-vm-id v\n", nil)
	for _, op := range []string{"backup", "restore", "cleanup"} {
		if err := c.Require(op); err != nil {
			t.Errorf("Require(%s): %v", op, err)
		}
	}
	if err := c.Require("scripts"); err == nil || !strings.Contains(err.Error(), "admin_name, admin_password") {
		t.Errorf("Require(scripts) = %v", err)
	}
	empty := mustParse(t, "", nil)
	err = empty.Require("list")
	if err == nil || !strings.Contains(err.Error(), "test.conf: list needs the keys url, username, password, domain, project_id") {
		t.Errorf("Require(list) on empty = %v", err)
	}
	if err := empty.Require("image"); err != nil {
		t.Errorf("image needs no cloud keys: %v", err)
	}
	if err := empty.Require("bogus"); err == nil {
		t.Errorf("unknown op accepted")
	}
}

func TestSecrets(t *testing.T) {
	if s := mustParse(t, "", nil).Secrets(); len(s) != 0 {
		t.Errorf("Secrets of empty = %v", len(s))
	}
	s := mustParse(t, "password "+secretPW+"\nadmin_password "+secretAdmin+"\n", nil).Secrets()
	if len(s) != 2 || s[0] != secretPW || s[1] != secretAdmin {
		t.Errorf("Secrets returned the wrong values (%d)", len(s))
	}
}

// TestSecretNeverInErrors builds many broken files around a password and
// checks no error shows it.
func TestSecretNeverInErrors(t *testing.T) {
	broken := []string{
		"timeout 0", "enable_ssl maybe", "foo bar", "url", "chunk_avg 1K", "password again",
		"admin_password x", "protocol " + secretPW,
	}
	for _, b := range broken {
		for _, pwLine := range []string{"password " + secretPW, "admin_password " + secretPW} {
			for _, order := range []string{pwLine + "\n" + b + "\n", b + "\n" + pwLine + "\n"} {
				_, err := parse(t, order, nil)
				if err == nil {
					continue
				}
				if strings.Contains(err.Error(), secretPW) && !strings.HasPrefix(b, "protocol") {
					t.Errorf("error shows the password: %v", err)
				}
			}
		}
		_, err := parse(t, b+"\n", map[string]string{"password": secretPW, "admin_password": secretPW})
		if err != nil && strings.Contains(err.Error(), secretPW) && !strings.HasPrefix(b, "protocol") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	// The only way to see it: write it as the value of a non-secret key.
	_, err := parse(t, "protocol "+secretPW+"\n", nil)
	if err == nil {
		t.Fatalf("protocol with a bad value accepted")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rb.conf")
	if err := os.WriteFile(path, []byte("url http://x/v3\ntimeout 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	if err == nil || err.Error() != path+`:2: key "timeout": "0" is not a whole number in 1..300 seconds` {
		t.Errorf("Load error = %v", err)
	}
	if err := os.WriteFile(path, []byte("url http://x/v3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, map[string]string{"timeout": "8"})
	if err != nil || c.URL != "http://x/v3" || c.Timeout != 8*time.Second || c.Path != path {
		t.Errorf("Load = %+v, %v", c, err)
	}
	missing := filepath.Join(dir, "nope.conf")
	_, err = Load(missing, nil)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file error = %v", err)
	}
	_, err = Load(dir, nil) // a directory: readable as a file? no
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory error = %v", err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		_, err = Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), "cannot read configuration file "+path) {
			t.Errorf("unreadable file error = %v", err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	big := strings.Repeat("# padding\n", maxFileSize/10+1)
	wantErr(t, big, nil, "larger than")
}

func wantErr(t *testing.T, text string, params map[string]string, want string) error {
	t.Helper()
	_, err := parse(t, text, params)
	if err == nil {
		t.Errorf("%q: no error, want %q", text, want)
		return errNone{}
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%q: error %q, want it to contain %q", text, err, want)
	}
	return err
}

type errNone struct{}

func (errNone) Error() string { return "" }

func TestEntries(t *testing.T) {
	c := mustParse(t, "url http://x/v3\npassword "+secretPW+"\ncurl_verbose\nchunk_avg 32K\n", map[string]string{"timeout": "9"})
	got := map[string]Entry{}
	for _, e := range c.Entries() {
		got[e.Key] = e
		if strings.Contains(e.Value, "s3cr3t") {
			t.Errorf("Entries shows the password in %s", e.Key)
		}
	}
	if len(got) != len(keys()) {
		t.Errorf("%d entries, want %d", len(got), len(keys()))
	}
	want := map[string]Entry{
		"url":            {Value: "http://x/v3", Origin: "test.conf:1"},
		"password":       {Value: "***", Origin: "test.conf:2"},
		"admin_password": {Value: "NONE", Origin: "default"},
		"curl_verbose":   {Value: "yes", Origin: "test.conf:3"},
		"chunk_avg":      {Value: "32K", Origin: "test.conf:4"},
		"timeout":        {Value: "9", Origin: `rule parameter "timeout"`},
		"ssh_user":       {Value: "root", Origin: "default"},
		"region":         {Value: "NONE", Origin: "default"},
	}
	for k, w := range want {
		if got[k].Value != w.Value || got[k].Origin != w.Origin {
			t.Errorf("%s = %q from %q, want %q from %q", k, got[k].Value, got[k].Origin, w.Value, w.Origin)
		}
	}
}

// TestEntriesHideEverySecret: every secret key (not only the cloud
// passwords) is listed as *** whatever its value.
func TestEntriesHideEverySecret(t *testing.T) {
	params := map[string]string{}
	for _, k := range keys() {
		if k.kind == kindSecret {
			params[k.name] = "s3cr3t-" + k.name
		}
	}
	if len(params) < 5 {
		t.Fatalf("only %d secret keys: %v", len(params), params)
	}
	c := mustParse(t, "", params)
	for _, e := range c.Entries() {
		if _, secret := params[e.Key]; secret && e.Value != "***" || strings.Contains(e.Value, "s3cr3t") {
			t.Errorf("%s listed as %q", e.Key, e.Value)
		}
	}
}

// TestSampleFile keeps etc/rb_module_rustack.conf and docs/configuration.md
// in step with the key table: the sample parses, every key appears in both,
// and the sample's active values are the defaults.
func TestSampleFile(t *testing.T) {
	sample := filepath.Join("..", "..", "etc", "rb_module_rustack.conf")
	c, err := Load(sample, nil)
	if err != nil {
		t.Fatalf("the sample does not parse: %v", err)
	}
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, e := range mustParse(t, "", nil).Entries() {
		defaults[e.Key] = e.Value
	}
	for _, e := range c.Entries() {
		line := regexp.MustCompile(`(?m)^#?` + regexp.QuoteMeta(e.Key) + `( |$)`)
		if !line.Match(data) {
			t.Errorf("key %q is not in the sample file", e.Key)
		}
		if !strings.Contains(string(doc), "`"+e.Key+"`") {
			t.Errorf("key %q is not in docs/configuration.md", e.Key)
		}
		if e.Value != defaults[e.Key] {
			t.Errorf("sample sets %s to %q, the default is %q", e.Key, e.Value, defaults[e.Key])
		}
	}
}

// TestCipherTable: every registered cipher is a valid value, from the file
// and as a rule parameter; the alias aes-256 is stored as aes-256-gcm; an
// unknown name is refused with the valid ones listed.
func TestCipherTable(t *testing.T) {
	for _, name := range crypt.Names() {
		if c := mustParse(t, "cipher "+name+"\n", nil); c.Cipher != name {
			t.Errorf("cipher %s read as %q", name, c.Cipher)
		}
		if c := mustParse(t, "cipher aes-256-gcm\n", map[string]string{"cipher": name}); c.Cipher != name {
			t.Errorf("rule parameter cipher=%s read as %q", name, c.Cipher)
		}
	}
	if c := mustParse(t, "cipher aes-256\n", nil); c.Cipher != crypt.AES256GCM {
		t.Errorf("alias aes-256 read as %q", c.Cipher)
	}
	_, err := parse(t, "cipher kuznyechik-512\n", nil)
	if err == nil || !strings.Contains(err.Error(), "test.conf:1") || !strings.Contains(err.Error(), "kuznyechik-mgm-256") || !strings.Contains(err.Error(), "threefish-1024") {
		t.Fatalf("unknown cipher: %v", err)
	}
}
