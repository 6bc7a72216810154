// Package harnesstest gives integration tests (the *_integration_test.go
// files) the shared OpenStack harness of ../shared/openstack: its
// credentials.env, a loud skip when it is not reachable, and harness.py
// (seed-vm, delete-vm, resources, sha256, volume-path).
//
// It is test support: import it only from _test.go files. It imports no
// package of this module, so any package's tests may use it.
package harnesstest
