#!/usr/bin/env bash
# demo.sh - build rb_module_rustack and run its demo (a backup and restore on
# an embedded demo cloud). Run from anywhere; installs what is missing as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

need_debs git:git gcc:gcc
need_go
mkdir -p bin
echo "building bin/rb_module_rustack"
go build -o bin/rb_module_rustack ./cmd/rb_module_rustack
exec ./bin/rb_module_rustack demo "$@"
