package main

// Helpers the commands share: opening the configuration and the log,
// parsing --type, and printing results (JSON or text).

import (
	"encoding/json"
	"fmt"
	"io"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/units"
)

// configAndLog reads the configuration for op and opens its log file; a log
// that cannot be opened is a configuration error (exit 2). The caller
// closes the log.
func (a *app) configAndLog(op string) (*config.Config, *logging.Logger, error) {
	cfg, err := a.loadConfig(op)
	if err != nil {
		return nil, nil, err
	}
	a.job.useConfig(cfg)
	log, err := a.openLog(cfg)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	a.warnConfig(cfg, log)
	return cfg, log, nil
}

// parseBackupType reads --type: full, incremental or differential.
func parseBackupType(s string) (archive.Type, error) {
	typ := archive.Type(s)
	switch typ {
	case archive.Full, archive.Incremental, archive.Differential:
		return typ, nil
	}
	return "", withCode(exitUsage, fmt.Errorf("--type %q: want full, incremental or differential", s))
}

// printJSON writes v to stdout as indented JSON (the --json outputs).
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printDataLines prints the read, stored and chunks lines of a backup
// summary.
func printDataLines(w io.Writer, c backup.Counts) {
	fmt.Fprintf(w, "read      %s (zero %s, new %s)\n", units.FormatBytes(c.BytesRead), units.FormatBytes(c.BytesZero), units.FormatBytes(c.BytesNew))
	fmt.Fprintf(w, "stored    %s\n", units.FormatBytes(c.BytesStored))
	fmt.Fprintf(w, "chunks    %d (new %d)\n", c.Chunks, c.NewChunks)
}

// toolVersion is written into every manifest.
func toolVersion() string { return "rb_module_rustack " + version }
