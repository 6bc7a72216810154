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
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q: want http://HOST[:PORT] or https://HOST[:PORT]", s)
	}
	return nil
}
