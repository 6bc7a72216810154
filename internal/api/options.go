package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rb_module_rustack/internal/api/httpx"
	"rb_module_rustack/internal/api/keystone"
	"rb_module_rustack/internal/logging"
)

// Logger is what the client logs through: the module's one logging
// interface, under the name callers of this package know.
type Logger = logging.Log

// Options is everything New needs. cmd maps config.Config onto it, so this
// package does not depend on the configuration grammar.
type Options struct {
	URL       string // Keystone v3 endpoint, e.g. https://host:5000/v3
	Username  string
	Password  string // secret: never logged, never in an error
	Domain    string // user domain, by name
	ProjectID string // project scope, by id
	Region    string // "" = any region

	AdminName     string // optional admin account, same domain and project
	AdminPassword string // secret

	Timeout   time.Duration // bound of one HTTP request attempt; default 5 s
	EnableSSL bool          // verify the server certificate
	CAInfo    string        // with EnableSSL: verify against this CA bundle only
	Verbose   bool          // log every request and response (redacted)
	Log       Logger        // nil = discard

	// Retry tunes the retry policy; the zero value is DefaultRetry.
	Retry RetryPolicy
}

// DefaultTimeout is used when Options.Timeout is zero.
const DefaultTimeout = httpx.DefaultTimeout

// RetryPolicy says how often and how long to wait before repeating a
// request; see httpx.RetryPolicy.
type RetryPolicy = httpx.RetryPolicy

// httpClient builds the HTTP stack of o (internal/api/httpx) and describes
// its TLS for -t; retry false makes every request a single attempt.
func (o *Options) httpClient(retry bool) (*http.Client, string, error) {
	policy := o.Retry
	if !retry {
		policy.Disabled = true
	}
	return httpx.NewClient(httpx.Config{
		URL:       o.URL,
		Timeout:   o.Timeout,
		EnableSSL: o.EnableSSL,
		CAInfo:    o.CAInfo,
		Verbose:   o.Verbose,
		Secrets:   o.secrets(),
		Log:       o.logger(),
		Retry:     policy,
	})
}

// login is how account authenticates with name and password.
func (o *Options) login(account, name, password string, scoped bool) keystone.Login {
	return keystone.Login{URL: o.URL, Account: account, Name: name, Password: password,
		Domain: o.Domain, ProjectID: o.ProjectID, Scoped: scoped}
}

func (o *Options) logger() Logger {
	if o.Log == nil {
		return logging.Discard()
	}
	return o.Log
}

// secrets lists the secret values of o, for the verbose log's last-resort
// value scrubbing.
func (o *Options) secrets() []string {
	var s []string
	for _, v := range []string{o.Password, o.AdminPassword} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// validate checks what every session needs. Its messages never include a
// secret.
func (o *Options) validate() error {
	var missing []string
	if strings.TrimSpace(o.URL) == "" {
		missing = append(missing, "url")
	}
	if o.Username == "" {
		missing = append(missing, "username")
	}
	if o.Password == "" {
		missing = append(missing, "password")
	}
	if o.Domain == "" {
		missing = append(missing, "domain")
	}
	if o.ProjectID == "" {
		missing = append(missing, "project_id")
	}
	if len(missing) > 0 {
		return fmt.Errorf("cloud access needs %s: set them in the configuration", strings.Join(missing, ", "))
	}
	if o.AdminName != "" && o.AdminPassword == "" {
		return errors.New("admin_name is set but admin_password is empty: set both or neither")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q is not an http(s) URL of Keystone v3 (for example https://host:5000/v3)", o.URL)
	}
	return nil
}
