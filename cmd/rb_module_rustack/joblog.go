package main

// The job's end in the log: every failed command is logged as ERROR with
// its cause in the log file, whichever command it was and wherever it
// failed (docs/configuration.md, "Logging").

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
)

// execute runs the command line and, when it fails, logs the failure.
func execute(ctx context.Context, a *app, root *cobra.Command) error {
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		if a.command == "" && cmd != nil {
			a.command = jobName(cmd)
		}
		a.logFailure(err)
	}
	return err
}

// jobName names the job a command runs: "backup", "image backup", and
// "list" or "test" for the root's -l and -t.
func jobName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		for _, f := range []string{"list", "test"} {
			if fl := cmd.Flags().Lookup(f); fl != nil && fl.Changed {
				return f
			}
		}
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// logFailure appends "COMMAND failed (exit N): cause" as ERROR to the log
// file of the configuration the job read, or, when it failed before
// reading one, to the default log file. Nothing is written where the log's
// folder does not exist (an engine command run with flags only, on a
// machine without an installation): stderr has the error anyway.
func (a *app) logFailure(err error) {
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	cfg := a.cfg
	var secrets []string
	if cfg == nil {
		// A usage or configuration error: the log settings the file and
		// the rule parameters give, else the defaults.
		cfg, secrets = a.fallbackLogConfig()
		if cfg == nil {
			return
		}
	}
	if _, serr := os.Stat(filepath.Dir(cfg.LogFile)); serr != nil {
		return
	}
	log, lerr := logging.Open(cfg.LogFile, io.Discard, append(cfg.Secrets(), secrets...)...)
	if lerr != nil {
		return
	}
	defer log.Close()
	a.tagLog(log, cfg)
	cause := err.Error()
	if ee != nil && ee.err == nil {
		cause = "no cause given"
	}
	name := a.command
	if name == "" {
		name = "command"
	}
	log.Errorf("%s failed (exit %d): %s", name, code, cause)
}

// fallbackLogConfig is the configuration's defaults with the log_file and
// log_format of the configuration file (read line by line: the file did
// not parse as a whole) and of the rule parameters, and the values of
// their password and secret keys, to redact; nil if even the defaults do
// not parse.
func (a *app) fallbackLogConfig() (*config.Config, []string) {
	cfg, err := config.Parse("(defaults)", strings.NewReader(""), nil)
	if err != nil {
		return nil, nil
	}
	var secrets []string
	set := func(key, value string) {
		if strings.Contains(key, "password") || strings.Contains(key, "secret") {
			secrets = append(secrets, value)
		}
		switch key {
		case "log_file":
			if value != "" && value != "NONE" {
				cfg.LogFile = value
			}
		case "log_format":
			if slices.Contains(logging.Formats(), value) {
				cfg.LogFormat = value
			}
		}
	}
	if data, err := os.ReadFile(a.configPath); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
			set(key, strings.TrimSpace(value))
		}
	}
	params, _ := a.paramMap()
	for k, v := range params {
		set(k, v)
	}
	return cfg, secrets
}
