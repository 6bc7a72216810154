// Package fakecloud is an in-process cloud with file-backed volumes: servers,
// volumes, snapshots and attachments with OpenStack's status transitions, and a
// fault injected at any step. It serves the demo command and fast tests.
package fakecloud
