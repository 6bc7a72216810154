package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/objstore"
	"rb_module_rustack/internal/repoopen"
	"rb_module_rustack/internal/units"
)

// Repository flags: every repository option of the configuration can also
// be given on the command line, so the engine commands work with no
// configuration file at all.
const (
	flagPool        = "pool"
	flagStore       = "store"
	flagKeyFile     = "key-file"
	flagCipher      = "cipher"
	flagCompression = "compression"
	flagLevel       = "compression-level"
	flagChunkMin    = "chunk-min"
	flagChunkAvg    = "chunk-avg"
	flagChunkMax    = "chunk-max"
	flagParallelism = "parallelism"
	flagLockWait    = "lock-wait"
)

// addRepoFlags registers the flags that locate and read a repository; with
// write also those that shape new data.
func addRepoFlags(cmd *cobra.Command, write bool) {
	f := cmd.Flags()
	f.String(flagPool, "", "archive pool directory (default: pool from the configuration, /opt/rubackup/backup/rustack)")
	f.String(flagStore, "", "dedup store directory (default: store from the configuration; none = archive pool mode)")
	f.String(flagKeyFile, "", "master key file (default: master_key_file from the configuration, /opt/rubackup/keys/master-key)")
	f.Int(flagParallelism, 0, "workers (default: parallelism from the configuration, 0 = number of CPUs)")
	f.Duration(flagLockWait, 0, "how long to wait for a lock another process holds, e.g. 30s or 1h (default: lock_wait from the configuration, 600 s)")
	if write {
		f.String(flagCipher, "", choices(crypt.Names()))
		f.String(flagCompression, "", choices(codec.Names()))
		f.String(flagLevel, "", "compression level: "+strings.Join(codec.Levels(), " | ")+" (rb_module_rustack algorithms lists each algorithm's levels and defaults)")
		f.String(flagChunkMin, "", "smallest chunk, e.g. 16K (default 16K)")
		f.String(flagChunkAvg, "", "average chunk, e.g. 64K (default 64K)")
		f.String(flagChunkMax, "", "largest chunk, e.g. 256K (default 256K)")
	}
}

// engineConfig reads the configuration for the engine commands. With no -c
// and no file at the default path it uses the defaults, so flags alone are
// enough.
func (a *app) engineConfig(cmd *cobra.Command) (*config.Config, error) {
	explicit := false
	if f := cmd.Flags().Lookup("config"); f != nil && f.Changed {
		explicit = true
	}
	if !explicit {
		if _, err := os.Stat(a.configPath); errors.Is(err, fs.ErrNotExist) {
			// No configuration file: the documented defaults, rule
			// parameters (--param) and flags.
			params, err := a.paramMap()
			if err != nil {
				return nil, err
			}
			cfg, err := config.Parse("(defaults: no "+a.configPath+")", strings.NewReader(""), params)
			if err != nil {
				return nil, withCode(exitUsage, err)
			}
			a.warnConfig(cfg, nil)
			a.cfg = cfg
			return cfg, nil
		}
	}
	cfg, err := a.loadConfig("image")
	if err != nil {
		return nil, err
	}
	a.warnConfig(cfg, nil)
	return cfg, nil
}

// openRepo opens the repository described by the configuration and the
// repository flags registered on cmd (addRepoFlags), flags winning. write:
// the command writes new data (the key is then required unless the cipher
// is none). It also returns the configuration.
func (a *app) openRepo(cmd *cobra.Command, write bool) (*archive.Repo, *config.Config, error) {
	return a.openRepoChecked(cmd, write, false, "")
}

// openRepoToRead is openRepo for a command that reads archives (archives,
// verify, restore): the pool, or a dedup store directory, must exist and be
// readable (checkRepoDirs), except the pool when arg (the archive the
// command reads: an id in the pool, or the path of an archive file) is an
// archive file's path and --pool was not given. The maintenance commands
// (forget, delete, prune) do not check: a repository not made yet has
// nothing to remove, and a prune may run beside the first backup.
func (a *app) openRepoToRead(cmd *cobra.Command, arg string) (*archive.Repo, *config.Config, error) {
	return a.openRepoChecked(cmd, false, true, arg)
}

func (a *app) openRepoChecked(cmd *cobra.Command, write, check bool, arg string) (*archive.Repo, *config.Config, error) {
	rs, cfg, err := a.repoSettings(cmd, write)
	if err != nil {
		return nil, nil, err
	}
	if check {
		poolNeeded := true
		if st, err := os.Stat(arg); arg != "" && err == nil && st.Mode().IsRegular() {
			poolNeeded = false
		}
		if err := checkRepoDirs(cmd, rs, cfg, poolNeeded); err != nil {
			return nil, nil, err
		}
	}
	r, err := repoopen.Open(rs)
	if err != nil {
		return nil, nil, repoOpenExit(err)
	}
	return r, cfg, nil
}

// repoSettings are the repository settings of the configuration and the
// repository flags registered on cmd, flags winning (openRepo).
func (a *app) repoSettings(cmd *cobra.Command, write bool) (repoopen.Settings, *config.Config, error) {
	var none repoopen.Settings
	cfg, err := a.engineConfig(cmd)
	if err != nil {
		return none, nil, err
	}
	a.job.useConfig(cfg)
	rs := repoopen.FromConfig(cfg, toolVersion())
	rs.Write = write
	if err := applyRepoFlags(cmd, &rs); err != nil {
		return none, nil, err
	}
	a.warnKeyFile(cfg, rs.KeyFile, nil)
	return rs, cfg, nil
}

// applyRepoFlags overrides rs with the repository flags given on cmd.
func applyRepoFlags(cmd *cobra.Command, rs *repoopen.Settings) error {
	f := cmd.Flags()
	for _, s := range []struct {
		name string
		dst  *string
	}{{flagPool, &rs.Archive.Pool}, {flagStore, &rs.Archive.Store}, {flagCipher, &rs.Archive.Cipher},
		{flagCompression, &rs.Archive.Compression}, {flagLevel, &rs.Archive.Level}, {flagKeyFile, &rs.KeyFile}} {
		if fl := f.Lookup(s.name); fl != nil && fl.Changed {
			*s.dst = fl.Value.String()
			rs.ExplicitKey = rs.ExplicitKey || s.name == flagKeyFile
		}
	}
	for _, s := range []struct {
		name string
		dst  *int
	}{{flagChunkMin, &rs.Archive.ChunkMin}, {flagChunkAvg, &rs.Archive.ChunkAvg}, {flagChunkMax, &rs.Archive.ChunkMax}} {
		if fl := f.Lookup(s.name); fl != nil && fl.Changed {
			n, err := units.ParseSize(fl.Value.String())
			if err != nil || n <= 0 || n > 1<<31 {
				return withCode(exitUsage, fmt.Errorf("--%s: bad size %q (want e.g. 65536, 64K or 1M)", s.name, fl.Value.String()))
			}
			*s.dst = int(n)
		}
	}
	if fl := f.Lookup(flagParallelism); fl != nil && fl.Changed {
		n, err := strconv.Atoi(fl.Value.String())
		if err != nil || n < 0 || n > 64 {
			return withCode(exitUsage, fmt.Errorf("--parallelism %q: want 0..64", fl.Value.String()))
		}
		rs.Archive.Parallelism = n
	}
	if fl := f.Lookup(flagLockWait); fl != nil && fl.Changed {
		d, err := f.GetDuration(flagLockWait)
		if err != nil || d < 0 {
			return withCode(exitUsage, fmt.Errorf("--lock-wait %q: want a duration such as 30s, 10m or 1h", fl.Value.String()))
		}
		rs.Archive.LockWait = d
	}
	return checkCipher(flagCipher, rs.Archive.Cipher)
}

// repoOpenExit is the exit code of a repository that does not open: a
// store that cannot be reached is a failure (1), anything else (a key that
// does not load, a bad path or location) a usage error (2).
func repoOpenExit(err error) error {
	var se *repoopen.StoreError
	if errors.As(err, &se) {
		return withCode(exitFailure, err)
	}
	return withCode(exitUsage, err)
}

// engineExit maps an engine error to the exit codes of root.go.
func engineExit(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return err
	case errors.Is(err, context.Canceled):
		return withCode(exitCanceled, err)
	case errors.Is(err, archive.ErrWrongKey), errors.Is(err, archive.ErrIntegrity),
		errors.Is(err, archive.ErrMissing), errors.Is(err, archive.ErrMissingParent):
		return withCode(exitIntegrity, err)
	case errors.Is(err, archive.ErrKeyNeeded):
		return withCode(exitUsage, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return withCode(exitFailure, fmt.Errorf("%w (the file system of that file is full or its quota is used up: free space there or write somewhere else, then run the command again; the unfinished file was removed)", err))
	}
	return withCode(exitFailure, err)
}

// checkRepoDirs checks, for a command that reads archives, that the pool
// (when needed or given with --pool, and no store is set) and a dedup store on a directory are
// readable directories. A path that does not exist or is not a directory
// is a usage error (exit 2) naming where it was given (--pool, --store, or
// the configuration's key); one that cannot be read is an I/O failure (1).
func checkRepoDirs(cmd *cobra.Command, rs repoopen.Settings, cfg *config.Config, poolNeeded bool) error {
	where := func(flag, key string) string {
		if cmd.Flags().Changed(flag) {
			return "--" + flag
		}
		return key + " (" + cfg.Origin(key) + ")"
	}
	check := func(what, path, from string) error {
		st, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			return withCode(exitUsage, fmt.Errorf("%s %s does not exist (given by %s): name the directory of the archives, or write a backup first", what, path, from))
		case err != nil:
			return withCode(exitFailure, fmt.Errorf("%s %s (given by %s): %w", what, path, from, err))
		case !st.IsDir():
			return withCode(exitUsage, fmt.Errorf("%s %s is not a directory (given by %s)", what, path, from))
		}
		f, err := os.Open(path)
		if err == nil {
			_, err = f.Readdirnames(1)
			f.Close()
			if errors.Is(err, io.EOF) {
				err = nil
			}
		}
		if err != nil {
			return withCode(exitFailure, fmt.Errorf("cannot read %s %s (given by %s): %w", what, path, from, err))
		}
		return nil
	}
	store := rs.Archive.Store
	if strings.EqualFold(store, "none") {
		store = ""
	}
	// With a dedup store, the store holds a copy of every archive: the
	// pool may be empty or not made yet (a copy's target).
	if store == "" && (poolNeeded || cmd.Flags().Changed(flagPool)) {
		if err := check("archive pool", rs.Archive.Pool, where(flagPool, "pool")); err != nil {
			return err
		}
	}
	if store != "" && !objstore.IsObjectStore(store) {
		if err := check("dedup store", store, where(flagStore, "store")); err != nil {
			return err
		}
	}
	return nil
}
