// Package httpx is the HTTP layer under the cloud client: the *http.Client
// every OpenStack request goes through, and the errors a request can end
// in.
//
// It owns TLS setup (enable_ssl, ca_info), the bound of one attempt, the
// retry policy (idempotent requests after connection errors and 5xx, 429
// and 413 after Retry-After, a POST only when the connection was refused),
// the curl_verbose request log with every credential redacted, and the
// decoding of failures: NetError for a request that got no answer,
// HTTPError (with the message of an OpenStack fault body) for an
// unexpected status, ErrNotFound for a 404.
//
// It is split from internal/api because this is the one part of the client
// that is plain HTTP: it can be read and tested with httptest alone, and
// api, internal/api/keystone and their tests build on it without reaching
// into its internals. It knows gophercloud only as the source of the
// status errors Normalize decodes; it must not know Keystone, Nova,
// Cinder, api.Options or the Client, nor the configuration or the backup
// flow.
package httpx
