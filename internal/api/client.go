package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// Microversions this client asks for, and the lowest it can work with. See
// docs/api.md for why.
const (
	NovaMicroversion      = "2.79"
	NovaMinMicroversion   = "2.37" // networks "none"
	CinderMicroversion    = "3.60"
	CinderMinMicroversion = "3.0"
)

// Client is the module's cloud client: a user session and, when AdminName
// is set, an admin session in the same domain and project. It is safe for
// concurrent use.
type Client struct {
	opts    Options
	log     Logger
	httpc   *http.Client
	tlsDesc string

	user  *session
	admin *session // nil without AdminName

	mu        sync.Mutex
	flavorIDs map[string]string // flavor name -> id, for microversions >= 2.47
	flavorsAt time.Time         // when flavorIDs was read
}

var _ Cloud = (*Client)(nil)

type session struct {
	pc      *gophercloud.ProviderClient
	compute *gophercloud.ServiceClient
	volume  *gophercloud.ServiceClient // nil in the admin session
	ident   Identity
}

// Identity is what Keystone said about an authenticated account.
type Identity struct {
	UserID, UserName       string
	DomainID, DomainName   string
	ProjectID, ProjectName string // empty for an unscoped token
	Roles                  []string
	ExpiresAt              time.Time
}

// AuthError is a failed Keystone password authentication. Keystone answers
// 401 alike for a wrong password, an unknown user, an unknown domain and a
// project the user has no role on; `-t` tells them apart.
type AuthError struct {
	Account   string // "user" or "admin"
	User      string
	Domain    string
	ProjectID string // "" for an unscoped attempt
	Err       error
}

func (e *AuthError) Error() string {
	what := fmt.Sprintf("authenticate %s %q (domain %q", e.Account, e.User, e.Domain)
	if e.ProjectID != "" {
		what += ", project " + e.ProjectID
	}
	what += ")"
	if StatusCode(e.Err) == http.StatusUnauthorized {
		cause := "wrong user name or password, or unknown domain"
		if e.ProjectID != "" {
			cause += ", or no role on the project"
		}
		return fmt.Sprintf("%s: Keystone 401: %s (run rb_module_rustack -t to tell which)", what, cause)
	}
	return fmt.Sprintf("%s: %v", what, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// Unauthorized reports whether Keystone refused the credentials (401).
func (e *AuthError) Unauthorized() bool { return StatusCode(e.Err) == http.StatusUnauthorized }

// New authenticates the user (and the admin account when AdminName is set),
// finds the Nova and Cinder endpoints and negotiates microversions.
func New(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	httpc, desc, err := newHTTPClient(&opts, true)
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, log: opts.logger(), httpc: httpc, tlsDesc: desc}
	if !opts.EnableSSL && strings.HasPrefix(strings.ToLower(opts.URL), "https:") {
		c.log.Warnf("TLS certificates of the cloud are not verified (enable_ssl no): set enable_ssl yes and ca_info to verify them")
	}
	c.user, err = c.newSession(ctx, "user", opts.Username, opts.Password, true)
	if err != nil {
		return nil, err
	}
	if opts.AdminName != "" {
		c.admin, err = c.newSession(ctx, "admin", opts.AdminName, opts.AdminPassword, false)
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// HasAdmin reports whether an admin session exists.
func (c *Client) HasAdmin() bool { return c.admin != nil }

// Identity is the user session's identity.
func (c *Client) Identity() Identity { return c.user.ident }

// AdminIdentity is the admin session's identity; ok is false without one.
func (c *Client) AdminIdentity() (Identity, bool) {
	if c.admin == nil {
		return Identity{}, false
	}
	return c.admin.ident, true
}

// TLS describes how the connection is secured, for `-t`.
func (c *Client) TLS() string { return c.tlsDesc }

// Endpoints returns the Nova and Cinder endpoints of the user session.
func (c *Client) Endpoints() (compute, volume string) {
	return c.user.compute.Endpoint, c.user.volume.Endpoint
}

// Microversions returns the Nova and Cinder microversions in use.
func (c *Client) Microversions() (nova, cinder string) {
	return c.user.compute.Microversion, c.user.volume.Microversion
}

func (c *Client) newSession(ctx context.Context, account, name, password string, withVolume bool) (*session, error) {
	pc, err := authenticate(ctx, c.httpc, &c.opts, account, name, password, true)
	if err != nil {
		return nil, err
	}
	s := &session{pc: pc, ident: identityOf(pc)}
	eo := gophercloud.EndpointOpts{Region: c.opts.Region}
	if s.compute, err = openstack.NewComputeV2(pc, eo); err != nil {
		return nil, fmt.Errorf("%s session: find the compute (Nova) endpoint in the catalog%s: %w", account, regionNote(c.opts.Region), err)
	}
	s.compute.Microversion = c.negotiate(ctx, s.compute, "Nova", NovaMicroversion, NovaMinMicroversion)
	if withVolume {
		if s.volume, err = openstack.NewBlockStorageV3(pc, eo); err != nil {
			return nil, fmt.Errorf("%s session: find the block-storage v3 (Cinder) endpoint in the catalog%s: %w", account, regionNote(c.opts.Region), err)
		}
		s.volume.Microversion = c.negotiate(ctx, s.volume, "Cinder", CinderMicroversion, CinderMinMicroversion)
	}
	return s, nil
}

func regionNote(region string) string {
	if region == "" {
		return ""
	}
	return fmt.Sprintf(" (region %q)", region)
}

// authenticate gets a Keystone v3 token for name in Options.Domain, scoped to
// Options.ProjectID when scoped; a scoped session re-authenticates by itself
// when its token expires.
func authenticate(ctx context.Context, httpc *http.Client, o *Options, account, name, password string, scoped bool) (*gophercloud.ProviderClient, error) {
	pc, err := openstack.NewClient(o.URL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", o.URL, err)
	}
	pc.HTTPClient = *httpc
	pc.UserAgent.Prepend("rb_module_rustack")
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: o.URL,
		Username:         name,
		Password:         password,
		DomainName:       o.Domain,
		AllowReauth:      scoped,
	}
	ae := &AuthError{Account: account, User: name, Domain: o.Domain}
	if scoped {
		ao.Scope = &gophercloud.AuthScope{ProjectID: o.ProjectID}
		ae.ProjectID = o.ProjectID
	}
	if err := openstack.AuthenticateV3(ctx, pc, &ao, gophercloud.EndpointOpts{}); err != nil {
		ae.Err = normalize(err)
		return nil, ae
	}
	return pc, nil
}

func identityOf(pc *gophercloud.ProviderClient) Identity {
	var id Identity
	r, ok := pc.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return id
	}
	if u, err := r.ExtractUser(); err == nil && u != nil {
		id.UserID, id.UserName = u.ID, u.Name
		id.DomainID, id.DomainName = u.Domain.ID, u.Domain.Name
	}
	if p, err := r.ExtractProject(); err == nil && p != nil {
		id.ProjectID, id.ProjectName = p.ID, p.Name
	}
	if roles, err := r.ExtractRoles(); err == nil {
		for _, ro := range roles {
			id.Roles = append(id.Roles, ro.Name)
		}
	}
	if t, err := r.ExtractToken(); err == nil && t != nil {
		id.ExpiresAt = t.ExpiresAt
	}
	return id
}

// CheckAuth authenticates name/password in Options.Domain once, scoped to
// Options.ProjectID or unscoped, and reports the identity. An unscoped
// check also lists the projects the account has a role on (Projects). It
// is `-t`'s diagnostic tool; it never retries and never warns.
func CheckAuth(ctx context.Context, opts Options, account, name, password string, scoped bool) (*Identity, []Project, error) {
	httpc, _, err := newHTTPClient(&opts, true)
	if err != nil {
		return nil, nil, err
	}
	pc, err := authenticate(ctx, httpc, &opts, account, name, password, scoped)
	if err != nil {
		return nil, nil, err
	}
	id := identityOf(pc)
	if scoped {
		return &id, nil, nil
	}
	idc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		return &id, nil, nil
	}
	var body struct {
		Projects []Project `json:"projects"`
	}
	if _, err := idc.Get(ctx, idc.ServiceURL("auth", "projects"), &body, nil); err != nil {
		opts.logger().Debugf("list projects of %s %q: %v", account, name, normalize(err))
		return &id, nil, nil
	}
	return &id, body.Projects, nil
}

// Project is a Keystone project an account has a role on.
type Project struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ProbeResult describes the identity endpoint as one GET saw it.
type ProbeResult struct {
	URL     string
	Status  int
	Version string // "v3.14"
	TLS     string // how the connection is secured
	Elapsed time.Duration
}

// Probe sends one GET (no retry) to the Keystone URL with the configured TLS
// and timeout and checks that a Keystone v3 version document answers. It
// returns within about Options.Timeout.
func Probe(ctx context.Context, opts Options) (*ProbeResult, error) {
	if strings.TrimSpace(opts.URL) == "" {
		return nil, errors.New("url is not set")
	}
	httpc, desc, err := newHTTPClient(&opts, false)
	if err != nil {
		return nil, err
	}
	res := &ProbeResult{URL: opts.URL, TLS: desc}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", opts.URL, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpc.Do(req)
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, normalize(err)
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	v, err := keystoneVersion(resp)
	if err != nil {
		return res, fmt.Errorf("%s answered HTTP %d but %v: check url (it must be the Keystone v3 endpoint, e.g. https://host:5000/v3)",
			opts.URL, resp.StatusCode, err)
	}
	res.Version = v
	return res, nil
}
