package repoopen

import (
	"os"
	"strings"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/crypt"
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
	}
}

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
	return archive.Open(o)
}
