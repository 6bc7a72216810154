// Package api is the module's client of the cloud: Nova servers, flavors and
// volume attachments, Cinder volumes and snapshots, the catalog lists a
// restore checks, and status waiters bounded by the configured timeouts. It
// is built on gophercloud v2. It knows nothing about archives, guests or the
// backup flow.
//
// Two subpackages hold what sits below the resource calls: internal/api/httpx
// is the HTTP stack (TLS, per-attempt timeouts, retries, the redacted
// curl_verbose log, HTTP and network errors), and internal/api/keystone is
// Keystone v3 authentication, the -t diagnostics and microversion
// negotiation. This package ties them together in New and re-exports the
// names its callers use (Logger, NetError, HTTPError, AuthError, Identity,
// Project, ProbeResult, RetryPolicy, ErrNotFound, StatusCode).
package api
