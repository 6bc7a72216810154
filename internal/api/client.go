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

	"rb_module_rustack/internal/api/keystone"
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
type Identity = keystone.Identity

// AuthError is a failed Keystone password authentication; see
// keystone.AuthError.
type AuthError = keystone.AuthError

// New authenticates the user (and the admin account when AdminName is set),
// finds the Nova and Cinder endpoints and negotiates microversions.
func New(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	httpc, desc, err := opts.httpClient(true)
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
	pc, err := keystone.Authenticate(ctx, c.httpc, c.opts.login(account, name, password, true))
	if err != nil {
		return nil, err
	}
	s := &session{pc: pc, ident: keystone.IdentityOf(pc)}
	eo := gophercloud.EndpointOpts{Region: c.opts.Region}
	if s.compute, err = openstack.NewComputeV2(pc, eo); err != nil {
		return nil, fmt.Errorf("%s session: find the compute (Nova) endpoint in the catalog%s: %w", account, regionNote(c.opts.Region), err)
	}
	s.compute.Microversion = keystone.Negotiate(ctx, s.compute, "Nova", NovaMicroversion, NovaMinMicroversion, c.log)
	if withVolume {
		if s.volume, err = openstack.NewBlockStorageV3(pc, eo); err != nil {
			return nil, fmt.Errorf("%s session: find the block-storage v3 (Cinder) endpoint in the catalog%s: %w", account, regionNote(c.opts.Region), err)
		}
		s.volume.Microversion = keystone.Negotiate(ctx, s.volume, "Cinder", CinderMicroversion, CinderMinMicroversion, c.log)
	}
	return s, nil
}

func regionNote(region string) string {
	if region == "" {
		return ""
	}
	return fmt.Sprintf(" (region %q)", region)
}

// CheckAuth authenticates name/password in Options.Domain once, scoped to
// Options.ProjectID or unscoped, and reports the identity. An unscoped
// check also lists the projects the account has a role on (Projects). It
// is `-t`'s diagnostic tool; it never retries and never warns.
func CheckAuth(ctx context.Context, opts Options, account, name, password string, scoped bool) (*Identity, []Project, error) {
	httpc, _, err := opts.httpClient(true)
	if err != nil {
		return nil, nil, err
	}
	return keystone.CheckAuth(ctx, httpc, opts.login(account, name, password, scoped), opts.logger())
}

// Project is a Keystone project an account has a role on.
type Project = keystone.Project

// ProbeResult describes the identity endpoint as one GET saw it.
type ProbeResult = keystone.ProbeResult

// Probe sends one GET (no retry) to the Keystone URL with the configured TLS
// and timeout and checks that a Keystone v3 version document answers. It
// returns within about Options.Timeout.
func Probe(ctx context.Context, opts Options) (*ProbeResult, error) {
	if strings.TrimSpace(opts.URL) == "" {
		return nil, errors.New("url is not set")
	}
	httpc, desc, err := opts.httpClient(false)
	if err != nil {
		return nil, err
	}
	return keystone.Probe(ctx, httpc, opts.URL, desc)
}
