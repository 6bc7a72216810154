package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/check"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/repoopen"
)

func newTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test",
		Short: "test the configuration, check by check (same as -t)",
		Long: `Runs every check and prints one line per check:

  OK|FAIL|SKIP|WARN  <check>: <detail>

configuration, keystone (reachable, TLS as configured), user, project,
rubackup-vm-id (exists, ACTIVE, in the project), cinder, admin (authenticates
and sees the hypervisor attributes; SKIP without admin_name), state dir and
log file (writable). A check that depends on a failed one prints SKIP and
why. WARN lines point at what works but deserves a look (a file others
may read, admin_name without admin_password); they do not fail the test.
The exit code is 0 when every required check passes, 3 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTest(cmd.Context(), a)
		},
	}
}

func runTest(ctx context.Context, a *app) error {
	var log *logging.Logger
	var failed []string // "check: detail", for the error (and so the log's ERROR line)
	r := &check.Run{Line: func(status, chk, detail string) {
		fmt.Fprintf(a.stdout, "%-4s  %s: %s\n", status, chk, detail)
		if log != nil {
			log.Infof("test: %s %s: %s", status, chk, detail)
		}
		if status == "FAIL" {
			failed = append(failed, chk+": "+detail)
		}
	}}
	done := func() error {
		if r.Failed > 0 {
			return withCode(exitCheck, fmt.Errorf("test: %d check(s) failed: %s", r.Failed, strings.Join(failed, "; ")))
		}
		return nil
	}

	// configuration
	params, err := a.paramMap()
	if err != nil {
		r.Fail(check.Configuration, "%v", err)
		r.SkipAll(append(check.CloudChecks, check.StoreCheck, check.StateDirCheck, check.LogFile), "no configuration")
		return done()
	}
	cfg, err := config.Load(a.configPath, params)
	if err != nil {
		r.Fail(check.Configuration, "%v", err)
		r.SkipAll(append(check.CloudChecks, check.StoreCheck, check.StateDirCheck, check.LogFile), "no configuration")
		return done()
	}

	var logErr error
	// The log file first, so that everything after is logged; its line
	// prints at the end, in order.
	log, logErr = a.openLog(cfg)
	if logErr != nil {
		log = logging.New(nil, a.stderr, cfg.Secrets()...)
	}
	defer log.Close()
	log.Infof("test: configuration test of %s", cfg.Path)

	reqErr := cfg.Require("test")
	if reqErr != nil {
		r.Fail(check.Configuration, "%v", reqErr)
		r.SkipAll(check.CloudChecks, "configuration incomplete")
	} else {
		r.OK(check.Configuration, "%s parsed (%d rule parameter(s))", cfg.Path, len(params))
		for _, w := range cfg.Warnings() {
			r.Warn(check.Configuration, "%s", w)
		}
		check.Cloud(ctx, r, cfg, cloudOptions(cfg, &logging.OnceWarnings{Log: log}))
	}

	check.Store(ctx, r, cfg.Store, cfg.Pool, repoopen.ObjectSettings(cfg, &logging.OnceWarnings{Log: log}))
	check.StateDir(r, cfg.StateDir)
	check.Influx(ctx, r, influxOptions(cfg))
	check.Textfile(r, cfg.PrometheusTextfileDir)
	if logErr != nil {
		r.Fail(check.LogFile, "%s", strings.TrimPrefix(logErr.Error(), "log file "))
	} else {
		r.OK(check.LogFile, "%s writable", cfg.LogFile)
	}
	return done()
}
