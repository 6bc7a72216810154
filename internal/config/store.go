package config

import (
	"fmt"
	"net/url"
	"strings"

	"rb_module_rustack/internal/objstore"
)

// checkStore checks the text of a store location (a directory, swift:// or
// s3://); NONE is archive pool mode.
func checkStore(s string) error {
	if strings.EqualFold(s, "none") {
		return nil
	}
	_, err := objstore.ParseLocation(s)
	return err
}

// checkHTTPURL checks an http(s)://HOST[:PORT] endpoint.
func checkHTTPURL(s string) error {
	if err := needScheme(s, ""); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q: want http://HOST[:PORT] or https://HOST[:PORT]", s)
	}
	return nil
}

// checkKeystoneURL checks a Keystone v3 endpoint: http(s)://HOST[:PORT][/PATH].
func checkKeystoneURL(s string) error {
	if err := needScheme(s, "/v3"); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http:// or https:// URL (for example https://cloud.example:5000/v3)", s)
	}
	return nil
}

// needScheme refuses a URL written without its scheme (127.0.0.1:5000),
// proposing the value with https:// in front (and suffix when it has no path).
func needScheme(s, suffix string) error {
	if strings.Contains(s, "://") {
		return nil
	}
	if strings.Contains(s, "/") {
		suffix = ""
	}
	return fmt.Errorf("%q has no scheme: write https://%s%s (or http://%s%s)", s, s, suffix, s, suffix)
}

// checkInfluxURL checks influxdb_url: http(s)://HOST[:PORT][/PATH], with
// no user information (its error does not echo the value then: it may
// hold a password).
func checkInfluxURL(s string) error {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return fmt.Errorf("user and password do not go in the URL: set influxdb_username and influxdb_password")
	}
	return checkHTTPURL(s)
}
