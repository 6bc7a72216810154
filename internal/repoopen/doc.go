// Package repoopen maps the configuration (and the command line's
// overrides of it) onto the options of a repository, and opens it: the one
// place that says which configuration key becomes which archive option and
// when the master key must be, may be, or is not loaded.
//
// It knows the configuration and the archive's exported options; it does
// not know the command line (flags are applied by the caller), the cloud,
// or what is done with the repository once it is open.
package repoopen
