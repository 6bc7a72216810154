// Package objstore puts the dedup store (internal/store) on object
// storage: OpenStack Swift through its native API and any S3 endpoint.
//
// A Client is the handful of object operations a provider offers (put,
// ranged get, stat, list, delete); swift.go and s3.go are the two. Backend
// builds the store.Backend contract on any Client once, so both providers
// share the same publish order, conditional writes, locks and read cache:
//
//   - Staging is a local spool directory; Put uploads the staged file with
//     If-None-Match: * (put-if-absent where the server honours it) and
//     removes it. Every name the store writes is either content-addressed
//     (packs, index files) or unique (archive copies, lock records), so a
//     server that ignores the condition overwrites an object only with the
//     same bytes.
//   - Open returns an object read by ranged GETs through a bounded cache of
//     blocks, with read-ahead when the reads are sequential.
//   - Lock is a lease: a record object per holder, refreshed while held and
//     ignored by others once it expired (lease.go).
//
// Location parses store locations (a directory, swift://CONTAINER/PREFIX,
// s3://BUCKET/PREFIX) into a backend. docs/storage.md describes it for
// users; docs/format.md, section 9, states the backend contract.
package objstore
