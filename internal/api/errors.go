package api

import (
	"fmt"

	"rb_module_rustack/internal/api/httpx"
)

// The errors of the HTTP layer, under the names callers of this package
// know: see internal/api/httpx.
type (
	// HTTPError is an answer of the cloud with an unexpected status.
	HTTPError = httpx.HTTPError
	// NetError is a request that got no HTTP answer.
	NetError = httpx.NetError
)

// StatusCode returns the HTTP status of the cloud's answer behind err, or 0
// when err is not an HTTP answer.
func StatusCode(err error) int { return httpx.StatusCode(err) }

// wrap gives err the operation's context ("get volume X: ...") and turns
// gophercloud's status errors into *HTTPError with the cloud's message.
// It never returns nil for a non-nil err.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, httpx.Normalize(err))
}
