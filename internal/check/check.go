package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/config"
)

// Run receives the result of each check, in order, and counts the
// failures.
type Run struct {
	// Line gets one line per check: status OK, FAIL or SKIP.
	Line   func(status, check, detail string)
	Failed int
}

func (r *Run) line(status, check, detail string) {
	if r.Line != nil {
		r.Line(status, check, detail)
	}
	if status == "FAIL" {
		r.Failed++
	}
}

// OK, Fail and Skip report a check.
func (r *Run) OK(check, f string, a ...any)   { r.line("OK", check, fmt.Sprintf(f, a...)) }
func (r *Run) Fail(check, f string, a ...any) { r.line("FAIL", check, fmt.Sprintf(f, a...)) }
func (r *Run) Skip(check, f string, a ...any) { r.line("SKIP", check, fmt.Sprintf(f, a...)) }

// Warn prints a WARN line: the check passed, but something deserves a look.
func (r *Run) Warn(check, f string, a ...any) { r.line("WARN", check, fmt.Sprintf(f, a...)) }

// Check names, in the order they print.
const (
	Configuration = "configuration"
	chkKeystone   = "keystone"
	chkUser       = "user"
	chkProject    = "project"
	chkVM         = "rubackup-vm-id"
	chkCinder     = "cinder"
	chkAdmin      = "admin"
	StateDirCheck = "state dir"
	LogFile       = "log file"
)

// CloudChecks are the checks Cloud runs, in order.
var CloudChecks = []string{chkKeystone, chkUser, chkProject, chkVM, chkCinder, chkAdmin}

// SkipAll reports every check of checks as skipped, and why.
func (r *Run) SkipAll(checks []string, why string) {
	for _, c := range checks {
		r.Skip(c, "%s", why)
	}
}

// Cloud runs the cloud checks in order with the client options opts (the
// configuration's); each one that cannot run because of an earlier failure
// is skipped with the reason.
func Cloud(ctx context.Context, r *Run, cfg *config.Config, opts api.Options) {
	userOpts := opts
	userOpts.AdminName, userOpts.AdminPassword = "", ""

	// keystone: one GET, no retry, bounded by timeout.
	probe, err := api.Probe(ctx, opts)
	if err != nil {
		r.Fail(chkKeystone, "%s: %s", cfg.URL, reason(err))
		r.SkipAll([]string{chkUser, chkProject, chkVM, chkCinder, chkAdmin}, "keystone not reachable")
		return
	}
	r.OK(chkKeystone, "%s answers (identity %s, %s, %dms)", cfg.URL, probe.Version, probe.TLS, probe.Elapsed.Milliseconds())

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
		r.OK(chkUser, "%q (%s) authenticates in domain %q", id.UserName, id.UserID, id.DomainName)
	case isUnauthorized(err):
		d := diagnose(ctx, userOpts, cfg)
		adminDiag = d.admin
		switch {
		case d.userUnscopedOK:
			userOK = true
			r.OK(chkUser, "%q authenticates in domain %q", cfg.Username, cfg.Domain)
			r.Fail(chkProject, "project %s not found or not accessible to user %q (Keystone 401 for a token scoped to it)%s",
				cfg.ProjectID, cfg.Username, d.projectsNote())
		case d.admin != nil && d.admin.unscopedUnauthorized:
			domainMissing = true
			r.Fail(chkUser, "domain %q not found (Keystone 401 for both user %q and admin %q in it)", cfg.Domain, cfg.Username, cfg.AdminName)
		case d.admin != nil && d.admin.unscopedOK:
			r.Fail(chkUser, "wrong user name or password (Keystone 401) for user %q in domain %q", cfg.Username, cfg.Domain)
		default:
			r.Fail(chkUser, "wrong user name or password, or domain %q not found (Keystone 401 for user %q; Keystone does not say which, set admin_name to tell them apart)",
				cfg.Domain, cfg.Username)
		}
	default:
		r.Fail(chkUser, "%s", reason(err))
	}

	// project: the scoped token's project, and Nova answers for it.
	var c *api.Client
	if projectOK {
		c, err = api.New(ctx, userOpts)
		switch {
		case err != nil:
			projectOK = false
			r.Fail(chkProject, "%s", reason(err))
		case c.Identity().ProjectID != cfg.ProjectID:
			projectOK = false
			r.Fail(chkProject, "the token is scoped to project %s, not project_id %s", c.Identity().ProjectID, cfg.ProjectID)
		default:
			if err := c.PingCompute(ctx); err != nil {
				projectOK = false
				r.Fail(chkProject, "%s", reason(err))
			} else {
				nova, _ := c.Microversions()
				comp, _ := c.Endpoints()
				r.OK(chkProject, "%q (%s) visible; Nova answers at %s (microversion %s)",
					c.Identity().ProjectName, cfg.ProjectID, comp, nova)
			}
		}
	} else if !userOK {
		r.Skip(chkProject, "user does not authenticate")
	} // else the project check failed above

	// rubackup-vm-id
	vmOK := false
	switch {
	case !projectOK:
		r.Skip(chkVM, "project not visible")
	case cfg.ProxyVMID == "":
		r.Fail(chkVM, "not set: backup and restore need the id of the VM this module runs in")
	default:
		s, err := c.GetServer(ctx, cfg.ProxyVMID)
		switch {
		case api.IsNotFound(err):
			r.Fail(chkVM, "no server %s in project %s (Nova 404)", cfg.ProxyVMID, cfg.ProjectID)
		case err != nil:
			r.Fail(chkVM, "%s", reason(err))
		case s.ProjectID != "" && s.ProjectID != cfg.ProjectID:
			r.Fail(chkVM, "server %q (%s) belongs to project %s, not %s", s.Name, s.ID, s.ProjectID, cfg.ProjectID)
		case !strings.EqualFold(s.Status, "ACTIVE"):
			r.Fail(chkVM, "server %q (%s) is %s, not ACTIVE", s.Name, s.ID, s.Status)
		default:
			vmOK = true
			r.OK(chkVM, "server %q (%s) is ACTIVE in project %s", s.Name, s.ID, cfg.ProjectID)
		}
	}

	// cinder
	if !projectOK {
		r.Skip(chkCinder, "project not visible")
	} else if err := c.PingVolume(ctx); err != nil {
		r.Fail(chkCinder, "%s", reason(err))
	} else {
		_, cinder := c.Microversions()
		_, vol := c.Endpoints()
		r.OK(chkCinder, "answers at %s (microversion %s)", vol, cinder)
	}

	testAdmin(ctx, r, cfg, opts, adminDiag, domainMissing, userOK && !projectOK, vmOK)
}

// testAdmin checks that the admin account authenticates in the project and
// sees the hypervisor attributes.
func testAdmin(ctx context.Context, r *Run, cfg *config.Config, opts api.Options, ad *accountDiag,
	domainMissing, projectMissing, vmOK bool) {
	if err := cfg.CheckScripts(); err != nil {
		r.Fail(chkAdmin, "%v", err)
		return
	}
	switch {
	case cfg.AdminName == "":
		r.Skip(chkAdmin, "admin_name not set (needed only to run guest scripts)")
		return
	case domainMissing:
		r.Skip(chkAdmin, "domain %q not found (see user)", cfg.Domain)
		return
	}
	adminOpts := opts
	adminOpts.Username, adminOpts.Password = cfg.AdminName, cfg.AdminPassword
	adminOpts.AdminName, adminOpts.AdminPassword = "", ""
	c, err := api.New(ctx, adminOpts)
	if err != nil {
		if !isUnauthorized(err) {
			r.Fail(chkAdmin, "%s", reason(err))
			return
		}
		if ad == nil {
			ad = diagnoseAccount(ctx, adminOpts, cfg.AdminName, cfg.AdminPassword)
		}
		switch {
		case ad.unscopedOK && projectMissing:
			r.Skip(chkAdmin, "%q authenticates, but project %s is not accessible (see project)", cfg.AdminName, cfg.ProjectID)
		case ad.unscopedOK:
			r.Fail(chkAdmin, "admin %q authenticates in domain %q but has no role on project %s (Keystone 401 for a token scoped to it)",
				cfg.AdminName, cfg.Domain, cfg.ProjectID)
		case ad.unscopedUnauthorized:
			r.Fail(chkAdmin, "wrong admin name or password (Keystone 401) for admin %q in domain %q", cfg.AdminName, cfg.Domain)
		default:
			r.Fail(chkAdmin, "%s", reason(ad.err))
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
			r.Skip(chkAdmin, "%q authenticates in project %s, but the project has no server to read hypervisor attributes from",
				cfg.AdminName, cfg.ProjectID)
			return
		}
		if err == nil {
			s = &list[0]
		}
	}
	switch {
	case err != nil:
		r.Fail(chkAdmin, "%s", reason(err))
	case s.Host == "" || s.InstanceName == "":
		r.Fail(chkAdmin, "admin %q does not see OS-EXT-SRV-ATTR:host and instance_name of server %s: give it the admin role on project %s",
			cfg.AdminName, s.ID, cfg.ProjectID)
	default:
		r.OK(chkAdmin, "%q authenticates and sees hypervisor attributes of server %q (host %s, instance %s)",
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

// StateDir checks the state dir exists (creating it 0700) and takes a new
// file.
func StateDir(r *Run, dir string) {
	if dir == "" {
		r.Fail(StateDirCheck, "state_dir is not set")
		return
	}
	created := ""
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			r.Fail(StateDirCheck, "%s: cannot create it: %v (set state_dir to a writable folder)", dir, unwrapPathErr(err))
			return
		}
		created = " (created, mode 0700)"
	}
	st, err := os.Stat(dir)
	if err != nil {
		r.Fail(StateDirCheck, "%s: %v", dir, unwrapPathErr(err))
		return
	}
	if !st.IsDir() {
		r.Fail(StateDirCheck, "%s is not a folder (set state_dir to a writable folder)", dir)
		return
	}
	f, err := os.CreateTemp(dir, ".rb_module_rustack-test-*")
	if err != nil {
		r.Fail(StateDirCheck, "%s is not writable: %v", dir, unwrapPathErr(err))
		return
	}
	name := f.Name()
	_, werr := f.WriteString("test\n")
	cerr := f.Close()
	os.Remove(name)
	if werr != nil || cerr != nil {
		r.Fail(StateDirCheck, "%s: cannot write a file: %v", dir, errors.Join(werr, cerr))
		return
	}
	r.OK(StateDirCheck, "%s writable%s", filepath.Clean(dir), created)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
