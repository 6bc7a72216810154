package keystone

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"rb_module_rustack/internal/api/httpx"
	"rb_module_rustack/internal/logging"
)

// Login says where and as whom to authenticate.
type Login struct {
	URL       string // Keystone v3 endpoint
	Account   string // "user" or "admin", for messages
	Name      string
	Password  string // secret: never logged, never in an error
	Domain    string // the account's domain, by name
	ProjectID string // the project scope, when Scoped
	Scoped    bool   // scoped to ProjectID and re-authenticating by itself; false = unscoped
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
	if httpx.StatusCode(e.Err) == http.StatusUnauthorized {
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
func (e *AuthError) Unauthorized() bool { return httpx.StatusCode(e.Err) == http.StatusUnauthorized }

// Authenticate gets a Keystone v3 token for l.Name in l.Domain, scoped to
// l.ProjectID when l.Scoped; a scoped session re-authenticates by itself
// when its token expires. Every request goes through httpc.
func Authenticate(ctx context.Context, httpc *http.Client, l Login) (*gophercloud.ProviderClient, error) {
	pc, err := openstack.NewClient(l.URL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", l.URL, err)
	}
	pc.HTTPClient = *httpc
	pc.UserAgent.Prepend("rb_module_rustack")
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: l.URL,
		Username:         l.Name,
		Password:         l.Password,
		DomainName:       l.Domain,
		AllowReauth:      l.Scoped,
	}
	ae := &AuthError{Account: l.Account, User: l.Name, Domain: l.Domain}
	if l.Scoped {
		ao.Scope = &gophercloud.AuthScope{ProjectID: l.ProjectID}
		ae.ProjectID = l.ProjectID
	}
	if err := openstack.AuthenticateV3(ctx, pc, &ao, gophercloud.EndpointOpts{}); err != nil {
		ae.Err = httpx.Normalize(err)
		return nil, ae
	}
	return pc, nil
}

// IdentityOf reads the identity of an authenticated provider client.
func IdentityOf(pc *gophercloud.ProviderClient) Identity {
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

// CheckAuth authenticates l once and reports the identity. An unscoped
// check also lists the projects the account has a role on; failing to list
// them is only logged at debug level.
func CheckAuth(ctx context.Context, httpc *http.Client, l Login, log logging.Log) (*Identity, []Project, error) {
	pc, err := Authenticate(ctx, httpc, l)
	if err != nil {
		return nil, nil, err
	}
	id := IdentityOf(pc)
	if l.Scoped {
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
		log.Debugf("list projects of %s %q: %v", l.Account, l.Name, httpx.Normalize(err))
		return &id, nil, nil
	}
	return &id, body.Projects, nil
}

// Project is a Keystone project an account has a role on.
type Project struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
