package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
)

func newTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test",
		Short: "test the configuration, check by check (same as -t)",
		Long: `Runs every check and prints one line per check:

  OK|FAIL|SKIP  <check>: <detail>

configuration, keystone (reachable, TLS as configured), user, project,
rubackup-vm-id (exists, ACTIVE, in the project), cinder, admin (authenticates
and sees the hypervisor attributes; SKIP without admin_name), state dir and
log file (writable). A check that depends on a failed one prints SKIP and
why. The exit code is 0 when every required check passes, 3 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTest(cmd.Context(), a)
		},
	}
}

// checkRun prints check lines and remembers failures.
type checkRun struct {
	out    io.Writer
	log    *logging.Logger
	failed int
}

func (r *checkRun) line(status, check, detail string) {
	fmt.Fprintf(r.out, "%-4s  %s: %s\n", status, check, detail)
	if r.log != nil {
		r.log.Infof("test: %s %s: %s", status, check, detail)
	}
	if status == "FAIL" {
		r.failed++
	}
}

func (r *checkRun) ok(check, f string, a ...any)   { r.line("OK", check, fmt.Sprintf(f, a...)) }
func (r *checkRun) fail(check, f string, a ...any) { r.line("FAIL", check, fmt.Sprintf(f, a...)) }
func (r *checkRun) skip(check, f string, a ...any) { r.line("SKIP", check, fmt.Sprintf(f, a...)) }

// Check names, in the order they print.
const (
	chkConfig   = "configuration"
	chkKeystone = "keystone"
	chkUser     = "user"
	chkProject  = "project"
	chkVM       = "rubackup-vm-id"
	chkCinder   = "cinder"
	chkAdmin    = "admin"
	chkState    = "state dir"
	chkLog      = "log file"
)

var cloudChecks = []string{chkKeystone, chkUser, chkProject, chkVM, chkCinder, chkAdmin}

func runTest(ctx context.Context, a *app) error {
	r := &checkRun{out: a.stdout}
	done := func() error {
		if r.failed > 0 {
			return withCode(exitCheck, fmt.Errorf("test: %d check(s) failed", r.failed))
		}
		return nil
	}

	// configuration
	params, err := a.paramMap()
	if err != nil {
		r.fail(chkConfig, "%v", err)
		r.skipAll(append(cloudChecks, chkState, chkLog), "no configuration")
		return done()
	}
	cfg, err := config.Load(a.configPath, params)
	if err != nil {
		r.fail(chkConfig, "%v", err)
		r.skipAll(append(cloudChecks, chkState, chkLog), "no configuration")
		return done()
	}

	// The log file first, so that everything after is logged; its line
	// prints at the end, in order.
	log, logErr := a.openLog(cfg)
	if logErr != nil {
		log = logging.New(nil, a.stderr, cfg.Secrets()...)
	}
	defer log.Close()
	r.log = log
	log.Infof("test: configuration test of %s", cfg.Path)

	reqErr := cfg.Require("test")
	if reqErr != nil {
		r.fail(chkConfig, "%v", reqErr)
		r.skipAll(cloudChecks, "configuration incomplete")
	} else {
		r.ok(chkConfig, "%s parsed (%d rule parameter(s))", cfg.Path, len(params))
		testCloud(ctx, r, cfg, &onceWarnings{Logger: log})
	}

	testStateDir(r, cfg.StateDir)
	if logErr != nil {
		r.fail(chkLog, "%s", strings.TrimPrefix(logErr.Error(), "log file "))
	} else {
		r.ok(chkLog, "%s writable", cfg.LogFile)
	}
	return done()
}

func (r *checkRun) skipAll(checks []string, why string) {
	for _, c := range checks {
		r.skip(c, "%s", why)
	}
}

// testCloud runs the cloud checks in order; each one that cannot run
// because of an earlier failure prints SKIP with the reason.
func testCloud(ctx context.Context, r *checkRun, cfg *config.Config, log api.Logger) {
	opts := cloudOptions(cfg, log)
	userOpts := opts
	userOpts.AdminName, userOpts.AdminPassword = "", ""

	// keystone: one GET, no retry, bounded by timeout.
	probe, err := api.Probe(ctx, opts)
	if err != nil {
		r.fail(chkKeystone, "%s: %s", cfg.URL, reason(err))
		r.skipAll([]string{chkUser, chkProject, chkVM, chkCinder, chkAdmin}, "keystone not reachable")
		return
	}
	r.ok(chkKeystone, "%s answers (identity %s, %s, %dms)", cfg.URL, probe.Version, probe.TLS, probe.Elapsed.Milliseconds())

	// user and project: a scoped token, else find out why not.
	var (
		userOK, projectOK bool
		domainMissing     bool // Keystone refused both accounts of the domain
		adminDiag         *accountDiag
	)
	id, _, err := api.CheckAuth(ctx, userOpts, "user", cfg.Username, cfg.Password, true)
	switch {
	case err == nil:
		userOK, projectOK = true, true
		r.ok(chkUser, "%q (%s) authenticates in domain %q", id.UserName, id.UserID, id.DomainName)
	case isUnauthorized(err):
		d := diagnose(ctx, userOpts, cfg)
		adminDiag = d.admin
		switch {
		case d.userUnscopedOK:
			userOK = true
			r.ok(chkUser, "%q authenticates in domain %q", cfg.Username, cfg.Domain)
			r.fail(chkProject, "project %s not found or not accessible to user %q (Keystone 401 for a token scoped to it)%s",
				cfg.ProjectID, cfg.Username, d.projectsNote())
		case d.admin != nil && d.admin.unscopedUnauthorized:
			domainMissing = true
			r.fail(chkUser, "domain %q not found (Keystone 401 for both user %q and admin %q in it)", cfg.Domain, cfg.Username, cfg.AdminName)
		case d.admin != nil && d.admin.unscopedOK:
			r.fail(chkUser, "wrong user name or password (Keystone 401) for user %q in domain %q", cfg.Username, cfg.Domain)
		default:
			r.fail(chkUser, "wrong user name or password, or domain %q not found (Keystone 401 for user %q; Keystone does not say which, set admin_name to tell them apart)",
				cfg.Domain, cfg.Username)
		}
	default:
		r.fail(chkUser, "%s", reason(err))
	}

	// project: the scoped token's project, and Nova answers for it.
	var c *api.Client
	if projectOK {
		c, err = api.New(ctx, userOpts)
		switch {
		case err != nil:
			projectOK = false
			r.fail(chkProject, "%s", reason(err))
		case c.Identity().ProjectID != cfg.ProjectID:
			projectOK = false
			r.fail(chkProject, "the token is scoped to project %s, not project_id %s", c.Identity().ProjectID, cfg.ProjectID)
		default:
			if err := c.PingCompute(ctx); err != nil {
				projectOK = false
				r.fail(chkProject, "%s", reason(err))
			} else {
				nova, _ := c.Microversions()
				comp, _ := c.Endpoints()
				r.ok(chkProject, "%q (%s) visible; Nova answers at %s (microversion %s)",
					c.Identity().ProjectName, cfg.ProjectID, comp, nova)
			}
		}
	} else if !userOK {
		r.skip(chkProject, "user does not authenticate")
	} // else the project check failed above

	// rubackup-vm-id
	vmOK := false
	switch {
	case !projectOK:
		r.skip(chkVM, "project not visible")
	case cfg.ProxyVMID == "":
		r.fail(chkVM, "not set: backup and restore need the id of the VM this module runs in")
	default:
		s, err := c.GetServer(ctx, cfg.ProxyVMID)
		switch {
		case api.IsNotFound(err):
			r.fail(chkVM, "no server %s in project %s (Nova 404)", cfg.ProxyVMID, cfg.ProjectID)
		case err != nil:
			r.fail(chkVM, "%s", reason(err))
		case s.ProjectID != "" && s.ProjectID != cfg.ProjectID:
			r.fail(chkVM, "server %q (%s) belongs to project %s, not %s", s.Name, s.ID, s.ProjectID, cfg.ProjectID)
		case !strings.EqualFold(s.Status, "ACTIVE"):
			r.fail(chkVM, "server %q (%s) is %s, not ACTIVE", s.Name, s.ID, s.Status)
		default:
			vmOK = true
			r.ok(chkVM, "server %q (%s) is ACTIVE in project %s", s.Name, s.ID, cfg.ProjectID)
		}
	}

	// cinder
	if !projectOK {
		r.skip(chkCinder, "project not visible")
	} else if err := c.PingVolume(ctx); err != nil {
		r.fail(chkCinder, "%s", reason(err))
	} else {
		_, cinder := c.Microversions()
		_, vol := c.Endpoints()
		r.ok(chkCinder, "answers at %s (microversion %s)", vol, cinder)
	}

	testAdmin(ctx, r, cfg, opts, adminDiag, domainMissing, userOK && !projectOK, vmOK)
}

// testAdmin checks that the admin account authenticates in the project and
// sees the hypervisor attributes.
func testAdmin(ctx context.Context, r *checkRun, cfg *config.Config, opts api.Options, ad *accountDiag,
	domainMissing, projectMissing, vmOK bool) {
	switch {
	case cfg.AdminName == "":
		r.skip(chkAdmin, "admin_name not set (needed only to run guest scripts)")
		return
	case domainMissing:
		r.skip(chkAdmin, "domain %q not found (see user)", cfg.Domain)
		return
	}
	adminOpts := opts
	adminOpts.Username, adminOpts.Password = cfg.AdminName, cfg.AdminPassword
	adminOpts.AdminName, adminOpts.AdminPassword = "", ""
	c, err := api.New(ctx, adminOpts)
	if err != nil {
		if !isUnauthorized(err) {
			r.fail(chkAdmin, "%s", reason(err))
			return
		}
		if ad == nil {
			ad = diagnoseAccount(ctx, adminOpts, cfg.AdminName, cfg.AdminPassword)
		}
		switch {
		case ad.unscopedOK && projectMissing:
			r.skip(chkAdmin, "%q authenticates, but project %s is not accessible (see project)", cfg.AdminName, cfg.ProjectID)
		case ad.unscopedOK:
			r.fail(chkAdmin, "admin %q authenticates in domain %q but has no role on project %s (Keystone 401 for a token scoped to it)",
				cfg.AdminName, cfg.Domain, cfg.ProjectID)
		case ad.unscopedUnauthorized:
			r.fail(chkAdmin, "wrong admin name or password (Keystone 401) for admin %q in domain %q", cfg.AdminName, cfg.Domain)
		default:
			r.fail(chkAdmin, "%s", reason(ad.err))
		}
		return
	}
	var s *api.Server
	if vmOK {
		s, err = c.GetServer(ctx, cfg.ProxyVMID)
	} else {
		// rubackup-vm-id is not usable: look at any server of the project.
		var list []api.Server
		list, err = c.ListServers(ctx)
		if err == nil && len(list) == 0 {
			r.skip(chkAdmin, "%q authenticates in project %s, but the project has no server to read hypervisor attributes from",
				cfg.AdminName, cfg.ProjectID)
			return
		}
		if err == nil {
			s = &list[0]
		}
	}
	switch {
	case err != nil:
		r.fail(chkAdmin, "%s", reason(err))
	case s.Host == "" || s.InstanceName == "":
		r.fail(chkAdmin, "admin %q does not see OS-EXT-SRV-ATTR:host and instance_name of server %s: give it the admin role on project %s",
			cfg.AdminName, s.ID, cfg.ProjectID)
	default:
		r.ok(chkAdmin, "%q authenticates and sees hypervisor attributes of server %q (host %s, instance %s)",
			cfg.AdminName, s.Name, s.Host, s.InstanceName)
	}
}

// diagnosis tells apart the causes Keystone answers 401 for alike.
type diagnosis struct {
	userUnscopedOK bool
	projects       []api.Project // the user's projects, when unscoped auth works
	admin          *accountDiag  // nil without admin_name
}

type accountDiag struct {
	unscopedOK           bool
	unscopedUnauthorized bool
	err                  error
}

func diagnose(ctx context.Context, userOpts api.Options, cfg *config.Config) *diagnosis {
	d := &diagnosis{}
	_, projects, err := api.CheckAuth(ctx, userOpts, "user", cfg.Username, cfg.Password, false)
	if err == nil {
		d.userUnscopedOK = true
		d.projects = projects
		return d
	}
	if cfg.AdminName != "" {
		d.admin = diagnoseAccount(ctx, userOpts, cfg.AdminName, cfg.AdminPassword)
	}
	return d
}

func diagnoseAccount(ctx context.Context, opts api.Options, name, password string) *accountDiag {
	_, _, err := api.CheckAuth(ctx, opts, "admin", name, password, false)
	return &accountDiag{unscopedOK: err == nil, unscopedUnauthorized: isUnauthorized(err), err: err}
}

func (d *diagnosis) projectsNote() string {
	if len(d.projects) == 0 {
		return "; the user has a role on no project"
	}
	var names []string
	for _, p := range d.projects {
		names = append(names, fmt.Sprintf("%s (%s)", p.Name, p.ID))
	}
	return "; the user has roles on: " + strings.Join(names, ", ")
}

func isUnauthorized(err error) bool {
	var ae *api.AuthError
	return errors.As(err, &ae) && ae.Unauthorized()
}

// reason is the message of a failure without the noise of wrapping.
func reason(err error) string {
	var ne *api.NetError
	if errors.As(err, &ne) && !strings.Contains(err.Error(), ne.Reason) {
		return ne.Reason
	}
	return err.Error()
}

// testStateDir checks the state dir exists (creating it 0700) and takes a
// new file.
func testStateDir(r *checkRun, dir string) {
	if dir == "" {
		r.fail(chkState, "state_dir is not set")
		return
	}
	created := ""
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			r.fail(chkState, "%s: cannot create it: %v (set state_dir to a writable folder)", dir, unwrapPathErr(err))
			return
		}
		created = " (created, mode 0700)"
	}
	st, err := os.Stat(dir)
	if err != nil {
		r.fail(chkState, "%s: %v", dir, unwrapPathErr(err))
		return
	}
	if !st.IsDir() {
		r.fail(chkState, "%s is not a folder (set state_dir to a writable folder)", dir)
		return
	}
	f, err := os.CreateTemp(dir, ".rb_module_rustack-test-*")
	if err != nil {
		r.fail(chkState, "%s is not writable: %v", dir, unwrapPathErr(err))
		return
	}
	name := f.Name()
	_, werr := f.WriteString("test\n")
	cerr := f.Close()
	os.Remove(name)
	if werr != nil || cerr != nil {
		r.fail(chkState, "%s: cannot write a file: %v", dir, errors.Join(werr, cerr))
		return
	}
	r.ok(chkState, "%s writable%s", filepath.Clean(dir), created)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
