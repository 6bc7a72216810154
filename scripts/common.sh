# common.sh - sourced by the scripts in this folder. Finds the repository,
# installs missing Debian packages (as root), and checks the Go toolchain.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# need_debs "cmd:package" ...: installs, with apt as root, the packages whose
# command is missing; without root, says what to install and fails.
need_debs() {
    local missing=() pair cmd pkg
    for pair in "$@"; do
        cmd=${pair%%:*} pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_go: a Go toolchain at least as new as go.mod's "go" line (the go
# command fetches a newer toolchain itself when it is 1.21 or newer).
need_go() {
    PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
    export PATH
    if ! command -v go >/dev/null 2>&1; then
        need_debs go:golang-go || return 1
    fi
    local v
    v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
    case "$v" in
        1.1[0-9]*|1.[0-9]|1.[0-9].*|1.20*|"")
            echo "Go ${v:-?} is too old for this module (go.mod: $(sed -n 's/^go //p' go.mod)); install Go from https://go.dev/dl/ and put it on PATH" >&2
            return 1 ;;
    esac
}

# shared_dir prints the folder that holds openstack/up.sh: $RB_SHARED_DIR, or
# "shared" beside the repository (or beside the main checkout of a worktree).
shared_dir() {
    local d
    for d in "${RB_SHARED_DIR:-}" "$ROOT/../shared" \
        "$(dirname "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo /nonexistent/.git)")/../shared"; do
        if [ -n "$d" ] && [ -x "$d/openstack/up.sh" ]; then
            (cd "$d" && pwd)
            return 0
        fi
    done
    return 1
}
