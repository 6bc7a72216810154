package main

import (
	"context"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
)

// cloudOptions maps the configuration onto the cloud client's options.
func cloudOptions(cfg *config.Config, log api.Logger) api.Options {
	return api.Options{
		URL:           cfg.URL,
		Username:      cfg.Username,
		Password:      cfg.Password,
		Domain:        cfg.Domain,
		ProjectID:     cfg.ProjectID,
		Region:        cfg.Region,
		AdminName:     cfg.AdminName,
		AdminPassword: cfg.AdminPassword,
		Timeout:       cfg.Timeout,
		EnableSSL:     cfg.EnableSSL,
		CAInfo:        cfg.CAInfo,
		Verbose:       cfg.CurlVerbose,
		Log:           log,
	}
}

// connect authenticates to the cloud with the configuration: the user
// session, plus the admin session when withAdmin and admin_name is set.
// Errors carry exitFailure.
func connect(ctx context.Context, cfg *config.Config, log api.Logger, withAdmin bool) (*api.Client, error) {
	opts := cloudOptions(cfg, log)
	if !withAdmin {
		opts.AdminName, opts.AdminPassword = "", ""
	}
	c, err := api.New(ctx, opts)
	if err != nil {
		return nil, withCode(exitFailure, err)
	}
	return c, nil
}

// openLogOrStderr opens the configured log file; when it cannot, it warns
// and logs to stderr only, so that a read-only command still works.
func (a *app) openLogOrStderr(cfg *config.Config) *logging.Logger {
	log, err := a.openLog(cfg)
	if err != nil {
		log = logging.New(nil, a.stderr, cfg.Secrets()...)
		log.Warnf("%v", err)
	}
	return log
}
