#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it (.ci/run calls this):
#   Debian packages and staticcheck, the OpenStack harness (../shared/openstack/up.sh),
#   a Swift cluster with s3api on its Keystone (scripts/swift.sh up; down at the end),
#   InfluxDB 1.x (scripts/influxdb.sh up; down at the end) and promtool (Debian's prometheus),
#   gofmt, go mod tidy -diff, go vet, staticcheck, go test -race (unit and integration), short fuzz runs,
#   the .deb installed, upgraded and purged and the .rpm inspected (scripts/package_test.sh).
# Every step runs even when an earlier one failed; the summary at the end says
# which failed, and the exit status is non-zero if any did.
# Environment: FUZZTIME (default 10s per target), TEST_TIMEOUT (default 25m),
# RB_SHARED_DIR (folder holding openstack/up.sh), SKIP_HARNESS=1 (do not start
# it: integration tests then skip, and the run is marked as incomplete).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FUZZTIME=${FUZZTIME:-10s}
TEST_TIMEOUT=${TEST_TIMEOUT:-25m}
STATICCHECK_VERSION=v0.8.2
WORK=$(mktemp -d /tmp/rb-test.XXXXXX)
trap '[ "$SWIFT_UP" = 1 ] && "$ROOT/scripts/swift.sh" down >/dev/null 2>&1; [ "$INFLUX_UP" = 1 ] && "$ROOT/scripts/influxdb.sh" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT
START=$SECONDS
declare -a RESULTS=()
FAILED=0

# step NAME COMMAND...: runs a step, times it, records OK/FAIL.
step() {
    local name=$1 t0=$SECONDS rc
    shift
    echo
    echo "===== $name"
    "$@"
    rc=$?
    if [ $rc -eq 0 ]; then
        RESULTS+=("OK    $(printf '%-28s' "$name") $((SECONDS - t0))s")
    else
        RESULTS+=("FAIL  $(printf '%-28s' "$name") $((SECONDS - t0))s (exit $rc)")
        FAILED=1
    fi
    return 0
}

setup() {
    need_debs git:git gcc:gcc promtool:prometheus fusermount:fuse debugfs:e2fsprogs sfdisk:fdisk mkfs.ext4:e2fsprogs \
        mkfs.xfs:xfsprogs mkfs.vfat:dosfstools pvcreate:lvm2 || return 1
    need_go || return 1
    go version
    local sc=$HOME/go/bin/staticcheck
    if ! "$sc" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
        echo "installing staticcheck $STATICCHECK_VERSION"
        go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" || return 1
    fi
    "$sc" -version
    go build -o "$WORK/testsummary" ./tools/testsummary
}

HARNESS_UP=0
harness() {
    if [ "${SKIP_HARNESS:-0}" = 1 ]; then
        echo "SKIP_HARNESS=1: not starting the OpenStack harness; integration tests will skip"
        return 1
    fi
    local shared
    if ! shared=$(shared_dir); then
        echo "cannot find shared/openstack/up.sh beside the repository ($ROOT/../shared); set RB_SHARED_DIR" >&2
        return 1
    fi
    echo "starting (or checking) the harness: $shared/openstack/up.sh"
    "$shared/openstack/up.sh" >"$WORK/up.log" 2>&1 || {
        tail -n 30 "$WORK/up.log"
        echo "up.sh failed (full log above: last 30 lines)" >&2
        return 1
    }
    tail -n 3 "$WORK/up.log"
    local env=${OPENSTACK_HARNESS_DIR:-/tmp/openstack-harness}/credentials.env
    [ -r "$env" ] || { echo "no $env after up.sh" >&2; return 1; }
    set -a
    # shellcheck disable=SC1090
    . "$env"
    set +a
    HARNESS_UP=1
    echo "harness up: $OS_AUTH_URL, project $OS_PROJECT_ID"
}

# swift_store starts (or checks) the Swift cluster of scripts/swift.sh on the
# harness' Keystone and exports RB_SWIFT_PARAMS and RB_S3_PARAMS, which the
# object-store tests read. It is stopped again when this script ends.
SWIFT_UP=0
swift_store() {
    if [ $HARNESS_UP != 1 ]; then
        echo "the OpenStack harness is not up: Swift needs its Keystone"
        return 1
    fi
    local out
    out=$("$ROOT/scripts/swift.sh" up 2>"$WORK/swift.log") || {
        tail -n 30 "$WORK/swift.log"
        echo "scripts/swift.sh up failed (last 30 lines of its log above)" >&2
        return 1
    }
    eval "$out"
    export RB_SWIFT_PARAMS RB_S3_PARAMS
    SWIFT_UP=1
    tail -n 3 "$WORK/swift.log"
}

# influxdb starts (or checks) the InfluxDB of scripts/influxdb.sh and exports
# RB_INFLUXDB_URL, which the metrics tests read; RB_PROMTOOL names promtool
# for the Prometheus format checks. InfluxDB is stopped when this script ends.
INFLUX_UP=0
influxdb() {
    local out
    out=$("$ROOT/scripts/influxdb.sh" up 2>"$WORK/influxdb.log") || {
        tail -n 30 "$WORK/influxdb.log"
        echo "scripts/influxdb.sh up failed (last 30 lines of its log above)" >&2
        return 1
    }
    eval "$out"
    export RB_INFLUXDB_URL
    INFLUX_UP=1
    RB_PROMTOOL=$(command -v promtool) && export RB_PROMTOOL
    tail -n 2 "$WORK/influxdb.log"
}

gofmt_check() {
    local files out
    files=$(git ls-files --cached --others --exclude-standard '*.go')
    [ -n "$files" ] || files=$(find . -name '*.go' -not -path './.git/*')
    # shellcheck disable=SC2086
    out=$(gofmt -l $files)
    [ -z "$out" ] && return 0
    echo "gofmt would change these files (run gofmt -w):"
    echo "$out"
    return 1
}

gotest() {
    local skipflag=()
    # Once the harness is up, an integration test that skips for want of it is a failure.
    # So is one that skips for want of Swift once scripts/swift.sh is up.
    # So is one that skips for want of InfluxDB or promtool once scripts/influxdb.sh is up.
    local pat=''
    [ $HARNESS_UP = 1 ] && pat='up\.sh|harness'
    [ $SWIFT_UP = 1 ] && pat="$pat|swift\\.sh"
    [ $INFLUX_UP = 1 ] && pat="$pat|influxdb\\.sh|promtool"
    pat=${pat#|}
    [ -n "$pat" ] && skipflag=(-fail-on-skip "$pat")
    go test -json -race -count=1 -timeout "$TEST_TIMEOUT" ./... 2>&1 |
        tee "$WORK/gotest.json" | "$WORK/testsummary" "${skipflag[@]}" | tee "$WORK/gotest.summary"
}

fuzz() {
    local file dir name rc=0 n=0
    # Every "func FuzzXxx(" in a _test.go file, discovered now so new targets are included.
    while IFS=: read -r file name; do
        dir=./$(dirname "$file")
        name=${name#func }
        name=${name%%(*}
        n=$((n + 1))
        printf '%-50s ' "$dir $name"
        local try ok=0 note=""
        for try in 1 2 3; do
            if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$dir" >"$WORK/fuzz.log" 2>&1; then
                ok=1
                break
            fi
            # Go 1.26's fuzz coordinator can fail a target with a bare
            # "context deadline exceeded" when -fuzztime ends while a worker
            # is mid-call (go.dev/issue/75804, fixed in Go 1.27). That is no
            # finding: no failing input is written. Run the target again; a
            # real finding fails every time and writes its input.
            if grep -q '^    context deadline exceeded$' "$WORK/fuzz.log" && ! grep -q 'Failing input written' "$WORK/fuzz.log"; then
                note="$note, run $try ended in Go's fuzz deadline race (go.dev/issue/75804)"
                continue
            fi
            break
        done
        if [ "$ok" = 1 ]; then
            echo "ok ($(grep -o 'execs: [0-9]*' "$WORK/fuzz.log" | tail -n 1)$note)"
        else
            echo "FAIL"
            tail -n 40 "$WORK/fuzz.log"
            rc=1
        fi
    done < <(git grep --untracked -n -o -E '^func Fuzz[A-Za-z0-9_]*\(' -- '*_test.go' | cut -d: -f1,3 | sort -u)
    echo "$n fuzz targets, $FUZZTIME each"
    return $rc
}

step "setup (packages, staticcheck)" setup
step "OpenStack harness" harness
step "Swift store (scripts/swift.sh)" swift_store
step "InfluxDB (scripts/influxdb.sh)" influxdb
step "gofmt" gofmt_check
step "go mod tidy" go mod tidy -diff
step "go vet" go vet ./...
step "staticcheck" "$HOME/go/bin/staticcheck" ./...
step "go test -race" gotest
step "fuzz ($FUZZTIME per target)" fuzz
step "packages (package_test.sh)" ./scripts/package_test.sh

echo
echo "===== summary ($((SECONDS - START))s)"
printf '%s\n' "${RESULTS[@]}"
# The test count goes last: it is the line CI reads.
counts=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed' "$WORK/gotest.summary" 2>/dev/null | tail -n 1)
if [ $FAILED -ne 0 ]; then
    echo "RESULT: FAILED"
    [ -n "$counts" ] && echo "$counts"
    exit 1
fi
echo "RESULT: all steps passed"
[ -n "$counts" ] && echo "$counts"
exit 0
