// Command mkpkg builds the .deb and .rpm packages of rb_module_rustack from
// packaging/nfpm.yaml with the nfpm library (github.com/goreleaser/nfpm/v2).
// scripts/package.sh runs it after it has built the static binary, the man
// pages, the completion scripts and the copyright file into a staging
// folder that nfpm.yaml names through ${STAGE}.
//
// It is a module of its own so that nfpm and its dependencies never enter
// the module's go.mod, nor the binary: it only reads a YAML layout and
// writes package files. It knows nothing of the backup module itself.
package main
