package repoopen

import (
	"cmp"
	"context"
	"os"
	"strings"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/objstore"
)

// Settings say which repository to open and how new data is shaped: the
// configuration's values, after the caller's overrides.
type Settings struct {
	Archive archive.Options // without Key: Options loads it from KeyFile

	// KeyFile is the master key file (master_key_file).
	KeyFile string
	// ExplicitKey: the key file was named by the user, so it must load.
	ExplicitKey bool
	// Write: new data is written, so the key must load unless the cipher
	// is none. Reading, or writing unencrypted, uses the key when the file
	// exists, so that encrypted archives stay readable and unencrypted
	// backups may chain to encrypted ones.
	Write bool

	// Object is how to reach a store on object storage (swift://, s3://);
	// an empty Backend.Spool becomes POOL/.spool.
	Object objstore.Settings
}

// FromConfig is the configuration's repository settings; toolVersion is
// written into every manifest.
func FromConfig(cfg *config.Config, toolVersion string) Settings {
	return Settings{
		Archive: archive.Options{
			Pool: cfg.Pool, Store: cfg.Store, Cipher: cfg.Cipher, Compression: cfg.Compression,
			Level: cfg.CompressionLevel, ChunkMin: cfg.ChunkMin, ChunkAvg: cfg.ChunkAvg, ChunkMax: cfg.ChunkMax,
			Parallelism: cfg.Parallelism, ToolVersion: toolVersion, LockWait: cfg.LockWait,
		},
		KeyFile: cfg.MasterKeyFile,
		Object:  ObjectSettings(cfg, nil),
	}
}

// ObjectSettings are the configuration's object-store settings. A swift://
// store uses the module's own Keystone account unless store_username is
// set; then every store_* key defaults to the module's own value.
func ObjectSettings(cfg *config.Config, log api.Logger) objstore.Settings {
	sw := api.Options{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, Domain: cfg.Domain,
		ProjectID: cfg.ProjectID, Region: cfg.Region, EnableSSL: cfg.EnableSSL, CAInfo: cfg.CAInfo,
		Verbose: cfg.CurlVerbose, Log: log}
	if cfg.StoreUsername != "" {
		sw.Username, sw.Password = cfg.StoreUsername, cfg.StorePassword
		sw.URL = cmp.Or(cfg.StoreAuthURL, sw.URL)
		sw.Domain = cmp.Or(cfg.StoreDomain, sw.Domain)
		sw.ProjectID = cmp.Or(cfg.StoreProjectID, sw.ProjectID)
		sw.Region = cmp.Or(cfg.StoreRegion, sw.Region)
	}
	return objstore.Settings{
		Swift: sw,
		S3: objstore.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle},
		S3CAFile: cfg.S3CAFile,
		Timeout:  cfg.StoreTimeout,
		Backend: objstore.Options{Spool: cfg.StoreSpool, CacheBytes: int64(cfg.StoreCache),
			Parallel: cfg.StoreParallel},
	}
}

// StoreError is the error of a store location that was well formed but
// could not be reached: the network, the credentials, the container.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// Options are the archive options with the master key loaded by the rules
// of Settings. A store of "none" means archive pool mode.
func (s Settings) Options() (archive.Options, error) {
	o := s.Archive
	if strings.EqualFold(o.Store, "none") {
		o.Store = ""
	}
	switch {
	case s.ExplicitKey || (s.Write && o.Cipher != crypt.None):
		key, err := crypt.LoadKey(s.KeyFile)
		if err != nil {
			return o, err
		}
		o.Key = key
	case s.KeyFile != "":
		if _, err := os.Stat(s.KeyFile); err != nil {
			return o, nil
		}
		key, err := crypt.LoadKey(s.KeyFile)
		if err != nil {
			return o, err
		}
		o.Key = key
	}
	return o, nil
}

// Open opens the repository the settings describe. Every error is one of
// the configuration or the command line: a key that does not load, a pool
// or store that cannot be opened.
func Open(s Settings) (*archive.Repo, error) {
	o, err := s.Options()
	if err != nil {
		return nil, err
	}
	if objstore.IsObjectStore(o.Store) {
		loc, err := objstore.ParseLocation(o.Store)
		if err != nil {
			return nil, err
		}
		b, err := objstore.Open(context.Background(), loc, s.Object.WithSpool(o.Pool), s.Write)
		if err != nil {
			return nil, &StoreError{Err: err}
		}
		o.StoreBackend = b
	}
	return archive.Open(o)
}
