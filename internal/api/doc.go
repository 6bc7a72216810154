// Package api is the module's client of the cloud: Keystone v3 authentication,
// Nova servers, flavors and volume attachments, Cinder volumes and snapshots, and
// status waiters bounded by the configured timeouts. It is built on gophercloud v2.
// It knows nothing about archives, guests or the backup flow.
package api
