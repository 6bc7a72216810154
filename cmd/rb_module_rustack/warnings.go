package main

import (
	"fmt"

	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
)

// warnConfig tells the configuration's warnings (config.Warnings): into
// the log, which copies them to stderr, when one is open (log != nil),
// else to stderr.
func (a *app) warnConfig(cfg *config.Config, log *logging.Logger) {
	for _, w := range cfg.Warnings() {
		a.warn(log, w)
	}
}

// warnKeyFile warns about a master key file named on the command line
// (--key-file) that other users may read; the configuration's own
// master_key_file is covered by warnConfig.
func (a *app) warnKeyFile(cfg *config.Config, path string, log *logging.Logger) {
	if path == cfg.MasterKeyFile {
		return
	}
	if w := config.FileModeWarning(path, "master key file", "whoever reads it can read every backup"); w != "" {
		a.warn(log, w)
	}
}

func (a *app) warn(log *logging.Logger, w string) {
	if w == "" {
		return
	}
	if log != nil {
		log.Warnf("%s", w)
		return
	}
	fmt.Fprintln(a.stderr, "warning:", w)
}
