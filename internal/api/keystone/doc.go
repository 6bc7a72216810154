// Package keystone talks to Keystone v3 and reads OpenStack version
// documents: password authentication (the gophercloud provider client a
// session is built on, and the identity Keystone reports), the `-t`
// diagnostics (CheckAuth, Probe), and microversion negotiation with a
// service's version document (Nova, Cinder).
//
// It is split from internal/api so that api holds the resource calls
// (servers, volumes, snapshots, waiters, the restore catalog) and this
// package holds how a session comes to exist; the two meet in api.New.
// Authentication and version discovery share a package because Probe and
// Negotiate read the same version-document format.
//
// It owns the Login, Identity, AuthError, Project and ProbeResult types
// (api re-exports them under their old names). It sends every request
// through the *http.Client its caller built with internal/api/httpx. It
// must not know api.Options, the Client, servers or volumes, nor the
// configuration, archives or the backup flow.
package keystone
