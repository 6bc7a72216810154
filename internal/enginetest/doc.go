// Package enginetest holds what the tests and benchmarks of the backup
// engine's packages (chunk, chunker, codec, container, store, dedup) share:
// deterministic sample data, a codec closed when the test ends and a check
// that O_DIRECT buffers are given back.
//
// It is imported only from _test.go files. It must not know about any
// package above the ones it helps test (archive, cmd).
package enginetest
