package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes (documented in README.md).
const (
	exitOK        = 0
	exitFailure   = 1 // the operation failed (cloud, data, I/O)
	exitUsage     = 2 // bad command line or configuration
	exitCheck     = 3 // -t: at least one required check failed
	exitIntegrity = 4 // verify/restore found damaged or missing data, or a wrong key
	exitCanceled  = 5 // interrupted by SIGINT/SIGTERM (after cleanup)
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app holds what every command shares: global flags and output streams.
type app struct {
	configPath string
	params     []string // --param key=value (rule parameters)
	stdout     io.Writer
	stderr     io.Writer

	// The job this process runs: its id is in every log line (and in the
	// journal and summary of a backup or restore), command names it, and
	// cfg is the configuration it read (nil until then), where a failure
	// is logged (logFailure).
	jobID   string
	command string
	cfg     *config.Config

	progress string // --progress auto|always|never
	quiet    bool   // --quiet: no progress

	job *jobRun // the monitored job of this run, if any (jobs.go)
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{configPath: config.DefaultPath, stdout: stdout, stderr: stderr, jobID: journal.NewJobID()}
}

// paramMap parses --param key=value pairs.
func (a *app) paramMap() (map[string]string, error) {
	m := make(map[string]string, len(a.params))
	for _, p := range a.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, withCode(exitUsage, fmt.Errorf("--param %q: want key=value", p))
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, nil
}

// loadConfig reads the configuration and checks the keys op needs.
func (a *app) loadConfig(op string) (*config.Config, error) {
	params, err := a.paramMap()
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(a.configPath, params)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	a.cfg = cfg
	if err := cfg.Require(op); err != nil {
		return nil, withCode(exitUsage, err)
	}
	return cfg, nil
}

// openLog opens the configured log file with the config's secrets redacted,
// in its log_format, every line carrying the job id.
func (a *app) openLog(cfg *config.Config) (*logging.Logger, error) {
	return a.openLogTo(cfg, a.stderr)
}

// openLogTo is openLog with warnings and errors also written to stderr
// (io.Discard: the file only).
func (a *app) openLogTo(cfg *config.Config, stderr io.Writer) (*logging.Logger, error) {
	a.cfg = cfg
	log, err := logging.Open(cfg.LogFile, stderr, cfg.Secrets()...)
	if err != nil {
		return nil, err
	}
	a.tagLog(log, cfg)
	return log, nil
}

// tagLog gives a logger the job id, the command and the log format.
func (a *app) tagLog(log *logging.Logger, cfg *config.Config) {
	log.SetJob(a.jobID, a.command)
	_ = log.SetFormat(cfg.LogFormat) // validated when the configuration was read
}

func newRootCmd(a *app) *cobra.Command {
	var listFlag, testFlag, dedupFlag bool
	root := &cobra.Command{
		Use:           "rb_module_rustack",
		Short:         "Agentless backup of RUSTACK virtual machines",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q; see rb_module_rustack --help", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case dedupFlag:
				return nil // -D: deduplication is supported
			case testFlag && listFlag:
				// -t -l: the test, then the list when every check passed.
				if err := runTest(cmd.Context(), a); err != nil {
					fmt.Fprintln(a.stderr, "-l not run: the configuration test failed")
					return err
				}
				fmt.Fprintln(a.stdout)
				return runList(cmd.Context(), a, false)
			case listFlag:
				return runList(cmd.Context(), a, false)
			case testFlag:
				return runTest(cmd.Context(), a)
			}
			return cmd.Help()
		},
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		a.command = jobName(cmd)
		return a.checkProgressFlag()
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	f := root.PersistentFlags()
	f.StringVarP(&a.configPath, "config", "c", config.DefaultPath, "configuration file")
	f.StringArrayVar(&a.params, "param", nil, "rule parameter key=value (repeatable; overrides the file)")
	addProgressFlags(root, a)
	root.Flags().BoolVarP(&listFlag, "list", "l", false, "list the project's VMs (same as the list command)")
	root.Flags().BoolVarP(&testFlag, "test", "t", false, "test the configuration (same as the test command)")
	root.Flags().BoolVarP(&dedupFlag, "dedup", "D", false, "exit 0: this module supports deduplication")
	root.AddCommand(
		newListCmd(a),
		newTestCmd(a),
		monitored(a, "backup", newBackupCmd(a)),
		monitored(a, "restore", newRestoreCmd(a)),
		newImageCmd(a),
		newMountCmd(a),
		newFilesCmd(a),
		monitored(a, "verify", newVerifyCmd(a)),
		newArchivesCmd(a),
		newStatusCmd(a),
		newMetricsCmd(a),
		newForgetCmd(a),
		newDeleteCmd(a),
		monitored(a, "prune", newPruneCmd(a)),
		newCopyCmd(a),
		newConsolidateCmd(a),
		newKeygenCmd(a),
		newKeyCmd(a),
		newCleanupCmd(a),
		newDemoCmd(a),
		newConfigCmd(a),
		newAlgorithmsCmd(a),
	)
	addBuildCommands(root, a)
	usageErrors(root)
	return root
}

// usageErrors makes bad flags and bad arguments exit with exitUsage, on the
// root and on every subcommand.
func usageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(exitUsage, fmt.Errorf("%w; see %s --help", err, c.CommandPath()))
	})
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return withCode(exitUsage, err)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageErrors(sub)
	}
}
