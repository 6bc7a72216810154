//go:build race

package main

// raceEnabled: this test binary runs under the race detector, so the
// binaries it builds for multi-process tests are built with -race too.
const raceEnabled = true
