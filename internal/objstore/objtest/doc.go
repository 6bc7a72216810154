// Package objtest is an in-memory objstore.Client for tests: what a real
// Swift or S3 server cannot do cheaply, such as a fault at every request
// or a listing that lags. Tests of the real thing run against the Swift
// cluster of scripts/swift.sh.
package objtest
