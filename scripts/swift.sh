#!/usr/bin/env bash
# swift.sh - a real OpenStack Swift (Debian 12's packages: Swift 2.30) on
# 127.0.0.1 for integration tests, authenticated by the Keystone of the
# OpenStack harness (../shared/openstack/up.sh), with the s3api middleware so
# that an S3 client reaches the same cluster and the same containers.
#
# Usage (as root):
#   eval "$(scripts/swift.sh up)"   start what is not running (and the harness if
#                                   needed), check it end to end, print 2 lines
#   scripts/swift.sh env            print the same 2 lines; fails if not up
#   scripts/swift.sh down [--purge] stop every process; --purge also deletes $SWIFT_DIR
#   scripts/swift.sh stop-proxy     stop only the proxy server (the store "goes away")
#   scripts/swift.sh start-proxy    start it again and wait for /healthcheck
#   scripts/swift.sh object-path CONTAINER OBJECT
#                                   the object's .data file on disk (in the test
#                                   project's account), to corrupt it behind Swift's back
#
# `up` and `env` print exactly these two lines on stdout (everything else goes
# to stderr); they are also written to $SWIFT_DIR/params.env (mode 600):
#   export RB_SWIFT_PARAMS="--param store=swift://rb-test/PREFIX"
#   export RB_S3_PARAMS="--param store=s3://rb-test/PREFIX --param s3_endpoint=http://127.0.0.1:8080 --param s3_region=RegionOne --param s3_access_key=... --param s3_secret_key=... --param s3_path_style=yes"
# RB_SWIFT_PARAMS carries no credentials: the module finds the object-store
# endpoint in the catalog of the harness's test user (credentials.env).
#
# Environment:
#   SWIFT_DIR             state dir (default /tmp/rb-swift): etc/ (configs,
#                         rings), srv/d1 (the one device of every ring), log/,
#                         run/ (pid files), params.env, state.env
#   SWIFT_PORT            proxy port (default 8080)
#   SWIFT_OBJECT_PORT, SWIFT_CONTAINER_PORT, SWIFT_ACCOUNT_PORT
#                         backends (default 6200, 6201, 6202)
#   SWIFT_MEMCACHE_PORT   our memcached (default 11311: not the system's 11211)
#   SWIFT_PREFIX          object prefix in the params (default ci)
#   SWIFT_CONTAINER       container/bucket (default rb-test)
#   SWIFT_SERVICE_PASSWORD  Keystone password of the "swift" service user
#                         (default swiftpass)
#   SWIFT_CATALOG         update (default): point an existing object-store
#                         endpoint at this proxy; keep: leave it as it is (for
#                         a second cluster beside the one the catalog names)
#   SWIFT_KEYSTONE_PORT, SWIFT_S3_KEYSTONE  see need_private_keystone (5051, auto)
#   OPENSTACK_HARNESS_DIR the harness's state dir (default /tmp/openstack-harness)
#   RB_SHARED_DIR         folder holding openstack/up.sh (see common.sh)
#
# What runs: memcached, swift-account-server, swift-container-server,
# swift-object-server, swift-proxy-server and, while the harness's Keystone
# needs it, keystone-s3 (see need_private_keystone), each started by this
# script in its own session (setsid) as root (user = root), workers = 1, with
# its pid in $SWIFT_DIR/run/NAME.pid; `down` signals the process groups
# (SIGTERM, SIGKILL after 5 s).  No replicator, updater, auditor or reaper:
# with one replica there is nothing to replicate, and nothing here needs the
# object auditor (it would quarantine a corrupted object on its next pass; a
# GET finds the bad checksum itself).  Rings: part power 8, 1 replica, one
# device "d1" (a plain directory, mount_check = false).  Logs:
# $SWIFT_DIR/log/NAME.log (console logging, -v); syslog copies go to the UDP
# discard port.  The servers read $SWIFT_DIR/etc/swift.conf (hash
# prefix/suffix, generated once), not /etc/swift/swift.conf: they are started
# through $SWIFT_DIR/bin/swift-run, which calls swift.common.utils.set_swift_dir.
# A config that `up` rewrites with other content restarts its server.
#
# Proxy pipeline (the order Swift 2.30's proxy-server.conf-sample asks for
# with Keystone: authtoken before s3api, s3token between s3api and
# keystoneauth, slo after s3api for multipart uploads):
#   catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk
#   authtoken s3api s3token keystoneauth copy slo dlo versioned_writes
#   proxy-logging proxy-server
#
# Keystone (idempotent, admin credentials of the harness): user "swift" with
# roles admin and service on project "service" (authtoken, and s3token: the
# Debian security update of Swift/Keystone wants a service token on
# /v3/s3tokens); service "swift" of type object-store with
# public/internal/admin endpoints http://127.0.0.1:$SWIFT_PORT/v1/AUTH_%(project_id)s
# in the harness's region (RegionOne); one EC2 credential of the test user on
# the test project (reused on rerun).  keystoneauth operator_roles = admin,
# member, swiftoperator.  What was set up is remembered in keystone.env (mode
# 600) for as long as the harness's Keystone process lives.
#
# Behaviour worth knowing (Swift 2.30):
# - Swift API: PUT with "If-None-Match: *" answers 412 when the object exists.
#   S3 API: s3api refuses every conditional PUT (If-None-Match, If-Match, ...)
#   with 501 NotImplemented "Conditional object PUTs are not supported."
# - S3 needs sigv4 with region RegionOne (s3api "location"; another region gets
#   400 AuthorizationHeaderMalformed) and an x-amz-content-sha256 header
#   (UNSIGNED-PAYLOAD is accepted; without it: 400 InvalidRequest).  curl 7.88's
#   --aws-sigv4 neither adds that header nor encodes the query for signing:
#   write "/" in a query value as %2F, or get 403 SignatureDoesNotMatch.
# - A .data file changed behind Swift's back (object-path) is still served by
#   ranged GETs (206), and by the first whole GET (200, the original ETag,
#   bytes that do not match it), which quarantines it: then GET, HEAD and
#   DELETE answer 404, and the listing keeps the name until that DELETE.
# - Metadata is stored in xattrs of the .data file: ext4 gives one 4 KiB block
#   to all of a file's xattrs, so large user metadata fails.
#
# Timings (2 cores, the harness already up, idle machine unless said):
# first `up` including the apt install of the 5 packages: 48 s (install 24 s);
# cold `up` (fresh $SWIFT_DIR): 12-15 s (28 s while another test run loads the
# machine); `up` when already running: 1.6 s (3-5 s under that load); `up`
# after `down`: 9-10 s (keystone-s3 takes ~7 s to start); `down` 2 s;
# stop-proxy 0.7 s; start-proxy 2.6 s.  Starting the harness adds its ~45 s.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SWIFT_DIR=${SWIFT_DIR:-/tmp/rb-swift}
SWIFT_PORT=${SWIFT_PORT:-8080}
SWIFT_OBJECT_PORT=${SWIFT_OBJECT_PORT:-6200}
SWIFT_CONTAINER_PORT=${SWIFT_CONTAINER_PORT:-6201}
SWIFT_ACCOUNT_PORT=${SWIFT_ACCOUNT_PORT:-6202}
SWIFT_MEMCACHE_PORT=${SWIFT_MEMCACHE_PORT:-11311}
SWIFT_PREFIX=${SWIFT_PREFIX:-ci}
SWIFT_CONTAINER=${SWIFT_CONTAINER:-rb-test}
SWIFT_SERVICE_PASSWORD=${SWIFT_SERVICE_PASSWORD:-swiftpass}
SWIFT_KEYSTONE_PORT=${SWIFT_KEYSTONE_PORT:-5051}
SWIFT_S3_KEYSTONE=${SWIFT_S3_KEYSTONE:-auto}
SWIFT_CATALOG=${SWIFT_CATALOG:-update}
HARNESS_DIR=${OPENSTACK_HARNESS_DIR:-/tmp/openstack-harness}
IP=127.0.0.1
PROXY_URL=http://$IP:$SWIFT_PORT
PROBE_CONTAINER=rb-probe    # up's end-to-end checks write and delete here
PY=/usr/bin/python3         # Debian's python (swift's modules), not the first on PATH

ETC=$SWIFT_DIR/etc LOG=$SWIFT_DIR/log RUN=$SWIFT_DIR/run SRV=$SWIFT_DIR/srv
SERVERS=(account container object)
DEBS=(swift-proxy swift-account swift-container swift-object python3-keystonemiddleware
    python3-swiftclient memcached curl)

T0=$(date +%s.%N)
log() { printf '[swift %5.1fs] %s\n' "$(awk "BEGIN{print $(date +%s.%N) - $T0}")" "$*" >&2; }
die() { echo "swift.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

# ---------------------------------------------------------------- packages
# The Debian packages' own services must not run: their postinst would start
# them with /etc/swift's configs on our ports.  policy-rc.d (exit 101) denies
# every start during the install; on a systemd machine the units are also
# disabled afterwards (they need rings in /etc/swift, which we never write).
install_debs() {
    local missing=() added_policy=0 u
    # one dpkg-query for all: the packages not "install ok installed"
    mapfile -t missing < <(dpkg-query -W -f='${Package} ${Status}\n' "${DEBS[@]}" 2>/dev/null |
        awk '$NF == "installed" && $(NF-1) == "ok" {ok[$1] = 1}
             END {n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i]}' want="${DEBS[*]}")
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    mkdir -p "$SWIFT_DIR"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; } \
        >"$SWIFT_DIR/apt-install.log" 2>&1; then
        [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
        tail -n 30 "$SWIFT_DIR/apt-install.log" >&2
        die "apt-get install failed (log: $SWIFT_DIR/apt-install.log)"
    fi
    [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ -d /run/systemd/system ]; then
        for u in swift-proxy swift-account swift-account-auditor swift-account-reaper swift-account-replicator \
            swift-container swift-container-auditor swift-container-replicator swift-container-sharder \
            swift-container-sync swift-container-updater swift-object swift-object-auditor \
            swift-object-reconstructor swift-object-replicator swift-object-updater memcached; do
            systemctl disable --now "$u.service" >/dev/null 2>&1 || true
        done
    fi
    log "packages installed"
}

# ---------------------------------------------------------------- processes
# proc_stat PID: sets STATE, PGRP and SID from /proc/PID/stat (no fork)
proc_stat() {
    local st
    read -r st 2>/dev/null <"/proc/$1/stat" || return 1
    read -r STATE _ PGRP SID _ <<<"${st##*) }"
}
# alive NAME: the recorded process still runs, leads its own session, and is
# one of ours (its command line names $SWIFT_DIR)
alive() {
    local p args
    read -r p 2>/dev/null <"$RUN/$1.pid" || return 1
    [ -n "$p" ] && proc_stat "$p" || return 1
    [ "$STATE" != Z ] && [ "$SID" = "$p" ] || return 1
    mapfile -d '' args <"/proc/$p/cmdline" 2>/dev/null || return 1
    [[ " ${args[*]} " == *"$SWIFT_DIR"* ]]
}
# group_alive PGID: a process of that group still runs (zombies do not
# count) and is one of ours (its command line names $SWIFT_DIR): also finds
# the workers of a server whose parent died
group_alive() {
    local d args
    for d in /proc/[0-9]*; do
        proc_stat "${d#/proc/}" || continue
        if [ "$PGRP" = "$1" ] && [ "$STATE" != Z ] && mapfile -d '' args 2>/dev/null <"$d/cmdline" &&
            [[ " ${args[*]} " == *"$SWIFT_DIR"* ]]; then
            return 0
        fi
    done
    return 1
}
port_open() { (exec 3<>"/dev/tcp/$IP/$1") 2>/dev/null; }

# start NAME CMD...: start detached in its own session (unless alive), record the pid
start() {
    local name=$1
    shift
    alive "$name" && return 0
    # 3>&-: fd 3 is `up`'s stdout (the eval lines); a server that kept it
    # open would keep "$(scripts/swift.sh up)" waiting for ever.
    setsid nohup "$@" >>"$LOG/$name.log" 2>&1 </dev/null 3>&- &
    echo $! >"$RUN/$name.pid"
    log "started $name (pid $!)"
}

# stop NAME...: SIGTERM to each one's process group (all at once), SIGKILL to
# the groups still there after 5 s
stop() {
    local name p i left=() pids=() names=()
    for name in "$@"; do
        p=''
        read -r p 2>/dev/null <"$RUN/$name.pid" || true
        if [ -n "$p" ] && group_alive "$p"; then
            kill -TERM -- "-$p" 2>/dev/null || true
            pids+=("$p") names+=("$name")
        fi
    done
    for ((i = 0; i < 50; i++)); do
        left=()
        for p in "${!pids[@]}"; do group_alive "${pids[$p]}" && left+=("$p"); done
        [ ${#left[@]} -eq 0 ] && break
        sleep 0.1
    done
    for p in "${left[@]}"; do
        log "${names[$p]} (pid ${pids[$p]}) ignored SIGTERM for 5 s: SIGKILL"
        kill -KILL -- "-${pids[$p]}" 2>/dev/null || true
    done
    for name in "$@"; do rm -f "$RUN/$name.pid"; done
    [ ${#names[@]} -eq 0 ] || log "stopped ${names[*]}"
}

# check_port NAME PORT: fail early when another process holds the port
check_port() {
    if ! alive "$1" && port_open "$2"; then
        die "port $2 (for $1) is already in use by another process; set the SWIFT_*_PORT variables"
    fi
}

# wait_port NAME PORT SECONDS
wait_port() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        port_open "$2" && return 0
        alive "$1" || { tail -n 20 "$LOG/$1.log" >&2; die "$1 died (log: $LOG/$1.log)"; }
        sleep 0.1
    done
    die "$1 is not listening on $IP:$2 after $3 s (log: $LOG/$1.log)"
}

# wait_healthcheck SECONDS: the proxy answers GET /healthcheck with 200
wait_healthcheck() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/healthcheck" || true)" = 200 ] && return 0
        alive proxy || { tail -n 20 "$LOG/proxy.log" >&2; die "proxy died (log: $LOG/proxy.log)"; }
        sleep 0.1
    done
    die "the proxy does not answer $PROXY_URL/healthcheck after $1 s (log: $LOG/proxy.log)"
}

server_port() {
    case $1 in
        account) echo "$SWIFT_ACCOUNT_PORT" ;;
        container) echo "$SWIFT_CONTAINER_PORT" ;;
        object) echo "$SWIFT_OBJECT_PORT" ;;
        proxy) echo "$SWIFT_PORT" ;;
        memcached) echo "$SWIFT_MEMCACHE_PORT" ;;
    esac
}

start_server() { # account|container|object|proxy
    local bin=/usr/bin/swift-$1-server
    start "$1" "$PY" "$SWIFT_DIR/bin/swift-run" "$ETC" "$bin" "$ETC/$1-server.conf" -v
}

start_memcached() {
    # exec -a: its command line names $SWIFT_DIR, as alive() wants
    # shellcheck disable=SC2016
    start memcached bash -c 'exec -a "memcached:$0" /usr/bin/memcached "$@"' "$SWIFT_DIR" \
        -u root -l "$IP" -p "$SWIFT_MEMCACHE_PORT" -U 0 -m 64 -c 1024
}

# ---------------------------------------------------------------- harness (Keystone)
# Loads the test user's OS_* and the admin's OS_HARNESS_ADMIN_* from the
# harness's credentials.env, starting the harness first when Keystone does not
# answer.
load_harness() {
    local env=$HARNESS_DIR/credentials.env shared url
    url=$(sed -n 's/^export OS_AUTH_URL=//p' "$env" 2>/dev/null || true)
    if [ -z "$url" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" != 200 ]; then
        shared=$(shared_dir) || die "cannot find shared/openstack/up.sh (set RB_SHARED_DIR)"
        log "Keystone is not up: starting the harness ($shared/openstack/up.sh, about 45 s)"
        mkdir -p "$LOG"
        "$shared/openstack/up.sh" >"$LOG/harness-up.log" 2>&1 3>&- ||
            { tail -n 30 "$LOG/harness-up.log" >&2; die "the harness did not start (log: $LOG/harness-up.log)"; }
        log "harness up"
    fi
    [ -r "$env" ] || die "no $env"
    # shellcheck disable=SC1090
    . "$env"
    KS_URL=${OS_AUTH_URL%/}
    REGION=${OS_REGION_NAME:-RegionOne}
    KS_S3_URL=$KS_URL
    if need_private_keystone; then KS_S3_URL=http://$IP:$SWIFT_KEYSTONE_PORT/v3; fi
}

# The harness's Keystone runs with [cache] backend = dogpile.cache.memory,
# which hands out the cached objects themselves, and Keystone's credential
# manager decrypts a credential in place (_decrypt_credential pops
# "encrypted_blob" from the dict it got from the cache).  So the second read of
# an EC2 credential within the cache's expiration_time (600 s) fails with
# KeyError: 'encrypted_blob' (HTTP 500 without headers): the second
# GET /v3/users/{id}/credentials/OS-EC2, and every /v3/s3tokens after the first
# one, that is S3 authentication.  Until the harness sets "[credential]
# caching = false" (or a cache backend that copies), S3 authentication and the
# EC2 credential calls go to a Keystone API process of our own ("keystone-s3",
# uwsgi on 127.0.0.1:$SWIFT_KEYSTONE_PORT): the same Debian keystone, database,
# fernet and credential keys as the harness's, and the harness's keystone.conf
# plus "[credential] caching = false".  SWIFT_S3_KEYSTONE=auto (the default:
# only when the harness's keystone.conf has the problem), private (always) or
# harness (never).
need_private_keystone() {
    case $SWIFT_S3_KEYSTONE in
        private) return 0 ;;
        harness) return 1 ;;
        auto) ;;
        *) die "SWIFT_S3_KEYSTONE must be auto, private or harness" ;;
    esac
    [ -r "$HARNESS_DIR/etc/keystone/keystone.conf" ] || return 1
    awk '
        /^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
        /^[ \t]*[#;]/ { next }
        (i = index($0, "=")) {
            k = substr($0, 1, i - 1); v = tolower(substr($0, i + 1))
            gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
            conf[sec "." k] = v
        }
        END {
            on = "^(true|1|yes|on)$"
            exit !(conf["cache.enabled"] ~ on && conf["cache.backend"] == "dogpile.cache.memory" &&
                   (!("credential.caching" in conf) || conf["credential.caching"] ~ on))
        }' "$HARNESS_DIR/etc/keystone/keystone.conf"
}

# start_private_keystone: starts keystone-s3 (see above), and restarts it when
# the harness's Keystone was restarted since (its in-memory cache must not
# outlive a harness that was purged and made again)
start_private_keystone() {
    local hk
    hk=$(cat "$HARNESS_DIR/run/keystone.pid" 2>/dev/null || echo none)
    if alive keystone-s3 && [ "$(cat "$RUN/keystone-s3.harness" 2>/dev/null)" != "$hk" ]; then
        log "the harness's Keystone was restarted: restarting keystone-s3"
        stop keystone-s3
    fi
    alive keystone-s3 && return 0
    mkdir -p "$ETC/keystone"
    "$PY" - "$HARNESS_DIR/etc/keystone/keystone.conf" "$ETC/keystone/keystone.conf" "$LOG/keystone-s3.log" <<'EOF'
import configparser, os, sys
src, dst, logfile = sys.argv[1:]
c = configparser.RawConfigParser(strict=False)
c.optionxform = str
c.read(src)
c["DEFAULT"]["log_file"] = logfile
for section, key, value in (("credential", "caching", "false"),
                            # the harness's process does not see our cache:
                            # keep what we cache (users, roles) short-lived
                            ("cache", "expiration_time", "60")):
    if not c.has_section(section):
        c.add_section(section)
    c[section][key] = value
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    c.write(f)
EOF
    cat >"$ETC/keystone/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
master = true
http-socket = $IP:$SWIFT_KEYSTONE_PORT
wsgi-file = /usr/bin/keystone-wsgi-public
processes = 1
threads = 4
enable-threads = true
lazy-apps = true
buffer-size = 65535
# no keep-alive in uwsgi's http-socket: say so (see the harness's up.sh)
add-header = Connection: close
http-raw-body = true
die-on-term = true
no-orphans = true
name = keystone-s3
logto = $LOG/keystone-s3-uwsgi.log
env = OS_KEYSTONE_CONFIG_DIR=$ETC/keystone
EOF
    start keystone-s3 uwsgi_python3 --ini "$ETC/keystone/uwsgi.ini"
    echo "$hk" >"$RUN/keystone-s3.harness"
}

wait_private_keystone() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$KS_S3_URL" || true)" = 200 ] && return 0
        alive keystone-s3 || { tail -n 20 "$LOG"/keystone-s3*.log >&2; die "keystone-s3 died"; }
        sleep 0.1
    done
    die "keystone-s3 does not answer $KS_S3_URL after 30 s (logs: $LOG/keystone-s3*.log)"
}

# keystone_setup: creates what is missing in Keystone (see the header) and
# prints PROJECT_ID=, USER_ID=, S3_ACCESS=, S3_SECRET= lines (not logged).
keystone_setup() {
    KS_URL=$KS_URL KS_S3_URL=$KS_S3_URL REGION=$REGION ENDPOINT="$PROXY_URL/v1/AUTH_%(project_id)s" \
        SWIFT_SERVICE_PASSWORD=$SWIFT_SERVICE_PASSWORD SWIFT_CATALOG=$SWIFT_CATALOG "$PY" - <<'EOF'
import os, sys
import requests

E = os.environ
KS = E["KS_URL"]
KS_S3 = E["KS_S3_URL"]   # EC2 credentials: see need_private_keystone
S = requests.Session()

def fail(msg):
    sys.exit("keystone setup: " + msg)

def token(user, domain, password, project, project_domain):
    dom = lambda d: {"id": d} if d == "default" else {"name": d}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": dom(domain), "password": password}}},
        "scope": {"project": {"name": project, "domain": dom(project_domain)}}}}
    r = S.post(KS + "/auth/tokens", json=body, timeout=30)
    if r.status_code != 201:
        return None, None
    return r.headers["X-Subject-Token"], r.json()["token"]

def call(tok, method, path, ok=(200, 201, 204), base=KS, **kw):
    r = S.request(method, base + path, headers={"X-Auth-Token": tok}, timeout=30, **kw)
    if r.status_code not in ok:
        fail(f"{method} {path}: {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}

admin, _ = token(E["OS_HARNESS_ADMIN_USER"], E["OS_HARNESS_ADMIN_USER_DOMAIN_NAME"],
                 E["OS_HARNESS_ADMIN_PASSWORD"], E["OS_HARNESS_ADMIN_PROJECT_NAME"],
                 E["OS_HARNESS_ADMIN_PROJECT_DOMAIN_NAME"])
if not admin:
    fail("cannot authenticate the harness's admin")

def find_or_create(coll, key, query, body):
    found = call(admin, "GET", "/" + coll, params=query)[coll]
    if found:
        return found[0]["id"]
    return call(admin, "POST", "/" + coll, json={key: body})[key]["id"]

roles = {n: find_or_create("roles", "role", {"name": n}, {"name": n})
         for n in ("admin", "member", "service")}
service_project = find_or_create("projects", "project", {"name": "service", "domain_id": "default"},
                                 {"name": "service", "domain_id": "default"})
pw = E["SWIFT_SERVICE_PASSWORD"]
swift_user = find_or_create("users", "user", {"name": "swift", "domain_id": "default"},
                            {"name": "swift", "domain_id": "default", "password": pw})
for r in ("admin", "service"):
    call(admin, "PUT", f"/projects/{service_project}/users/{swift_user}/roles/{roles[r]}")
if token("swift", "default", pw, "service", "default")[0] is None:
    # the user was made with another SWIFT_SERVICE_PASSWORD
    call(admin, "PATCH", f"/users/{swift_user}", json={"user": {"password": pw}})
    if token("swift", "default", pw, "service", "default")[0] is None:
        fail("the swift service user cannot authenticate")

svc = find_or_create("services", "service", {"type": "object-store"},
                     {"type": "object-store", "name": "swift", "enabled": True})
for iface in ("public", "internal", "admin"):
    eps = call(admin, "GET", "/endpoints", params={"service_id": svc, "interface": iface})["endpoints"]
    eps = [e for e in eps if e.get("region_id") == E["REGION"]]
    if not eps:
        call(admin, "POST", "/endpoints", json={"endpoint": {
            "service_id": svc, "interface": iface, "url": E["ENDPOINT"], "region_id": E["REGION"]}})
    elif eps[0]["url"] != E["ENDPOINT"] and E["SWIFT_CATALOG"] == "update":  # another SWIFT_PORT
        call(admin, "PATCH", f"/endpoints/{eps[0]['id']}", json={"endpoint": {"url": E["ENDPOINT"]}})

# the test user: its own token lists and creates its EC2 credentials
utok, ubody = token(E["OS_USERNAME"], E["OS_USER_DOMAIN_NAME"], E["OS_PASSWORD"],
                    E["OS_PROJECT_NAME"], E["OS_PROJECT_DOMAIN_NAME"])
if not utok:
    fail(f"cannot authenticate the test user {E['OS_USERNAME']}")
uid, pid = ubody["user"]["id"], ubody["project"]["id"]
creds = [c for c in call(utok, "GET", f"/users/{uid}/credentials/OS-EC2", base=KS_S3)["credentials"]
         if c.get("tenant_id") == pid]
if creds:
    cred = sorted(creds, key=lambda c: c["access"])[0]
else:
    cred = call(utok, "POST", f"/users/{uid}/credentials/OS-EC2", base=KS_S3,
                json={"tenant_id": pid})["credential"]
print(f"PROJECT_ID={pid}\nUSER_ID={uid}\nS3_ACCESS={cred['access']}\nS3_SECRET={cred['secret']}")
EOF
}

# keystone_sig: what the remembered Keystone setup depends on
keystone_sig() {
    local hk
    read -r hk 2>/dev/null <"$HARNESS_DIR/run/keystone.pid" || hk=none
    echo "$hk $KS_URL $KS_S3_URL $REGION $SWIFT_PORT $OS_USERNAME $OS_PROJECT_ID $SWIFT_SERVICE_PASSWORD"
}

# keystone_setup_save: keystone_setup, its output kept in keystone.env (mode 600)
keystone_setup_save() {
    local ks
    ks=$(keystone_setup) || die "Keystone setup failed"
    (
        umask 077
        printf 'SIG=%s\n%s\n' "$(keystone_sig)" "$ks" >"$SWIFT_DIR/keystone.env"
    )
    load_keystone_state || die "Keystone setup printed no credentials"
}

# load_keystone_state: PROJECT_ID, S3_ACCESS, S3_SECRET from keystone.env,
# if it was made for the same Keystone and settings
load_keystone_state() {
    local k v sig=''
    PROJECT_ID='' S3_ACCESS='' S3_SECRET=''
    [ -f "$SWIFT_DIR/keystone.env" ] || return 1
    while IFS='=' read -r k v; do
        case $k in
            SIG) sig=$v ;;
            PROJECT_ID) PROJECT_ID=$v ;;
            S3_ACCESS) S3_ACCESS=$v ;;
            S3_SECRET) S3_SECRET=$v ;;
        esac
    done <"$SWIFT_DIR/keystone.env"
    [ "$sig" = "$(keystone_sig)" ] && [ -n "$PROJECT_ID" ] && [ -n "$S3_ACCESS" ] && [ -n "$S3_SECRET" ]
}

# ---------------------------------------------------------------- configuration
# put_conf NAME FILE < content: writes FILE (mode 600) when its content
# changed, and then marks the running process NAME for a restart
RESTART=()
put_conf() {
    local tmp=$2.new
    (umask 077 && cat >"$tmp")
    if cmp -s "$tmp" "$2"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$2"
        if alive "$1"; then RESTART+=("$1"); fi
    fi
}

write_configs() {
    mkdir -p "$ETC" "$LOG" "$RUN" "$SRV/d1" "$SWIFT_DIR/bin" "$SWIFT_DIR/cache"
    chmod 700 "$SWIFT_DIR/etc"
    # the hash prefix/suffix decide where objects live: made once, never rewritten
    if [ ! -s "$ETC/swift.conf" ]; then
        cat >"$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = $(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
swift_hash_path_suffix = $(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

[storage-policy:0]
name = Policy-0
default = yes
EOF
    fi

    # runs /usr/bin/swift-*-server with $SWIFT_DIR/etc/swift.conf instead of
    # /etc/swift/swift.conf (a path Swift 2.30 otherwise hard-codes)
    cat >"$SWIFT_DIR/bin/swift-run" <<'EOF'
# usage: python3 swift-run SWIFT_DIR /usr/bin/swift-X-server CONF [options]
import runpy, sys
from swift.common import utils
utils.set_swift_dir(sys.argv[1])
from swift.common import constraints, storage_policy
storage_policy.reload_storage_policies()
constraints.reload_constraints()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
EOF

    # common [DEFAULT] of every server
    local common s
    common="bind_ip = $IP
user = root
swift_dir = $ETC
devices = $SRV
mount_check = false
workers = 1
log_level = INFO
# logs: the console (-v) into $LOG; syslog copies to the UDP discard port
log_udp_host = 127.0.0.1
log_udp_port = 9
recon_cache_path = $SWIFT_DIR/cache"
    for s in "${SERVERS[@]}"; do
        put_conf "$s" "$ETC/$s-server.conf" <<EOF
[DEFAULT]
bind_port = $(server_port "$s")
$common
log_name = $s-server

[pipeline:main]
pipeline = healthcheck $s-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$s-server]
use = egg:swift#$s
EOF
    done

    put_conf proxy "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_port = $SWIFT_PORT
$common
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk authtoken s3api s3token keystoneauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
# Keystone accounts (AUTH_<project id>) come into being on first use
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = $IP:$SWIFT_MEMCACHE_PORT

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = swift
password = $SWIFT_SERVICE_PASSWORD
region_name = $REGION
# S3 requests carry no token: s3token (after s3api) authenticates them
delay_auth_decision = true
# share the proxy's memcache client (tokens are validated once, then cached)
cache = swift.cache
include_service_catalog = false

[filter:s3api]
use = egg:swift#s3api
# the region of sigv4 signatures (and of GET ?location)
location = $REGION
# bucket names like rb-test pass either way; keep S3's rules
dns_compliant_bucket_names = true

[filter:s3token]
use = egg:swift#s3token
reseller_prefix = AUTH_
delay_auth_decision = false
# /v3/s3tokens: the harness's Keystone, or keystone-s3 (see swift.sh)
auth_uri = $KS_S3_URL
http_timeout = 10.0
# Keystone's /v3/s3tokens wants an authenticated service caller (OSSA-2025
# fix in Debian's keystone and swift): the same service user as authtoken
auth_url = $KS_URL
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = swift
password = $SWIFT_SERVICE_PASSWORD
region_name = $REGION

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member, swiftoperator
reseller_admin_role = ResellerAdmin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF
}

# build_rings: part power 8, 1 replica, the one device d1, with
# swift-ring-builder (the three rings in parallel: each call costs a Python
# start); rebuilt when a port changed (with one device every partition stays
# on d1, so no data moves)
build_rings() {
    local s pids=() names=()
    for s in "${SERVERS[@]}"; do
        if [ -s "$ETC/$s.ring.gz" ] && [ "$(cat "$ETC/$s.ring.sig" 2>/dev/null)" = "$(ring_sig "$s")" ]; then
            continue
        fi
        build_ring "$s" &
        pids+=($!) names+=("$s")
    done
    for s in "${!pids[@]}"; do
        wait "${pids[$s]}" || { cat "$LOG/ring-${names[$s]}.log" >&2; die "building the ${names[$s]} ring failed"; }
        log "built the ${names[$s]} ring ($(ring_sig "${names[$s]}"))"
    done
}
ring_sig() { echo "$IP:$(server_port "$1")/d1"; }
build_ring() { # account|container|object
    local b=$ETC/$1.builder rc=0
    rm -f "$b" "$ETC/$1.ring.gz" "$ETC/$1.ring.sig"
    {
        swift-ring-builder "$b" create 8 1 1 &&
            swift-ring-builder "$b" add --region 1 --zone 1 --ip "$IP" \
                --port "$(server_port "$1")" --device d1 --weight 100 &&
            swift-ring-builder "$b" rebalance || rc=$?
    } >"$LOG/ring-$1.log" 2>&1
    # rebalance exits with 1 for a warning (it always warns about one device)
    [ $rc -le 1 ] && [ -s "$ETC/$1.ring.gz" ] || return 1
    ring_sig "$1" >"$ETC/$1.ring.sig"
}

# ---------------------------------------------------------------- end-to-end checks
# curl_k: curl with its secret arguments (header, user) in a config on stdin,
# so that tokens and keys never show in ps
curl_k() { curl -sS --max-time 30 -K - "$@"; }

user_token() {
    local body
    body=$(OS_USERNAME=$OS_USERNAME OS_PASSWORD=$OS_PASSWORD OS_USER_DOMAIN_NAME=$OS_USER_DOMAIN_NAME \
        OS_PROJECT_ID=$PROJECT_ID "$PY" -c 'import json, os; E = os.environ; print(json.dumps({"auth": {
"identity": {"methods": ["password"], "password": {"user": {"name": E["OS_USERNAME"],
"domain": {"name": E["OS_USER_DOMAIN_NAME"]}, "password": E["OS_PASSWORD"]}}},
"scope": {"project": {"id": E["OS_PROJECT_ID"]}}}}))')
    printf '%s' "$body" | curl -sS --max-time 30 -D - -o /dev/null -H 'Content-Type: application/json' \
        --data-binary @- "$KS_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# swift_req METHOD PATH [curl args]: prints the HTTP status; body in $WORK/body
swift_req() {
    local m=$1 p=$2
    shift 2
    printf 'header = "X-Auth-Token: %s"\n' "$TOKEN" |
        curl_k -o "$WORK/body" -w '%{http_code}' -X "$m" "$PROXY_URL/v1/AUTH_$PROJECT_ID$p" "$@"
}

# s3_req METHOD PATH [curl args]: sigv4 (curl --aws-sigv4), path style
s3_req() {
    local m=$1 p=$2
    shift 2
    printf 'user = "%s:%s"\n' "$S3_ACCESS" "$S3_SECRET" |
        curl_k -o "$WORK/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
            -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X "$m" "$PROXY_URL$p" "$@"
}

expect() { # what want got
    [ "$3" = "$2" ] || {
        head -c 400 "$WORK/body" >&2 2>/dev/null || true
        echo >&2
        die "check failed: $1: HTTP $3, expected $2 (proxy log: $LOG/proxy.log)"
    }
}

roundtrip() {
    local code probe
    WORK=$(mktemp -d "$RUN/check.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$WORK'" EXIT
    TOKEN=$(user_token)
    [ -n "$TOKEN" ] || die "no Keystone token for $OS_USERNAME"
    for c in "$SWIFT_CONTAINER" "$PROBE_CONTAINER"; do
        code=$(swift_req PUT "/$c")
        case $code in 201 | 202) ;; *) expect "PUT container $c" 201 "$code" ;; esac
    done
    probe="probe-$$-$RANDOM"
    echo "swift probe $probe" >"$WORK/data"
    expect "Swift PUT with If-None-Match: *" 201 \
        "$(swift_req PUT "/$PROBE_CONTAINER/$probe" -H 'If-None-Match: *' --data-binary @"$WORK/data")"
    expect "Swift PUT again with If-None-Match: *" 412 \
        "$(swift_req PUT "/$PROBE_CONTAINER/$probe" -H 'If-None-Match: *' --data-binary @"$WORK/data")"
    expect "Swift GET" 200 "$(swift_req GET "/$PROBE_CONTAINER/$probe")"
    cmp -s "$WORK/body" "$WORK/data" || die "check failed: Swift GET returned other bytes"
    expect "Swift list with prefix" 200 "$(swift_req GET "/$PROBE_CONTAINER?prefix=$probe&format=json")"
    grep -qF "\"name\": \"$probe\"" "$WORK/body" || die "check failed: the Swift listing lacks $probe"
    expect "Swift DELETE" 204 "$(swift_req DELETE "/$PROBE_CONTAINER/$probe")"
    echo "s3 probe $probe" >"$WORK/data"
    expect "S3 PUT" 200 "$(s3_req PUT "/$PROBE_CONTAINER/$probe.s3" --data-binary @"$WORK/data")"
    expect "S3 GET" 200 "$(s3_req GET "/$PROBE_CONTAINER/$probe.s3")"
    cmp -s "$WORK/body" "$WORK/data" || die "check failed: S3 GET returned other bytes"
    # (a "/" in a query value would have to be written %2F: curl 7.88's
    # --aws-sigv4 signs the query as given, S3 signs it URI-encoded)
    expect "S3 list with prefix" 200 "$(s3_req GET "/$PROBE_CONTAINER?list-type=2&prefix=$probe")"
    grep -qF "<Key>$probe.s3</Key>" "$WORK/body" || die "check failed: the S3 listing lacks $probe.s3"
    expect "S3 DELETE" 204 "$(s3_req DELETE "/$PROBE_CONTAINER/$probe.s3")"
    expect "S3 HEAD bucket $SWIFT_CONTAINER" 200 "$(s3_req HEAD "/$SWIFT_CONTAINER" -I)"
    rm -rf "$WORK"
    trap - EXIT
}

# ---------------------------------------------------------------- output
params_lines() {
    local store=$SWIFT_CONTAINER/$SWIFT_PREFIX
    echo "export RB_SWIFT_PARAMS=\"--param store=swift://$store\""
    echo "export RB_S3_PARAMS=\"--param store=s3://$store --param s3_endpoint=$PROXY_URL --param s3_region=$REGION --param s3_access_key=$S3_ACCESS --param s3_secret_key=$S3_SECRET --param s3_path_style=yes\""
}

# ---------------------------------------------------------------- commands
cmd_up() {
    need_root
    case $SWIFT_CATALOG in update | keep) ;; *) die "SWIFT_CATALOG must be update or keep" ;; esac
    exec 3>&1 1>&2 # stdout is for the two export lines only
    install_debs
    mkdir -p "$SWIFT_DIR" "$LOG" "$RUN"
    chmod 755 "$SWIFT_DIR"
    load_harness
    local n
    for n in memcached "${SERVERS[@]}" proxy; do check_port "$n" "$(server_port "$n")"; done
    [ "$KS_S3_URL" = "$KS_URL" ] || check_port keystone-s3 "$SWIFT_KEYSTONE_PORT"
    # keystone-s3 takes the longest to start (~7 s): first, beside the rings
    if [ "$KS_S3_URL" != "$KS_URL" ]; then
        start_private_keystone
    else
        stop keystone-s3
    fi
    write_configs
    build_rings
    if [ ${#RESTART[@]} -gt 0 ]; then
        log "configuration changed: restarting ${RESTART[*]}"
        stop "${RESTART[@]}"
    fi
    start_memcached
    for n in "${SERVERS[@]}"; do start_server "$n"; done
    start_server proxy
    [ "$KS_S3_URL" = "$KS_URL" ] || wait_private_keystone
    # Keystone's side is made once per harness Keystone process and then
    # remembered in keystone.env; the round trip below proves it still holds
    local cached=0
    if load_keystone_state; then cached=1; else keystone_setup_save; fi
    wait_port memcached "$SWIFT_MEMCACHE_PORT" 10
    for n in "${SERVERS[@]}"; do wait_port "$n" "$(server_port "$n")" 30; done
    wait_healthcheck 30
    if ! (roundtrip); then
        [ $cached = 1 ] || die "the end-to-end check failed"
        log "the end-to-end check failed with the remembered Keystone setup: setting it up again"
        keystone_setup_save
        (roundtrip) || die "the end-to-end check failed"
    fi
    log "Swift and S3 round trips OK (account AUTH_$PROJECT_ID, container $SWIFT_CONTAINER)"
    # state.env: what object-path and env need (no secret); params.env: the lines
    cat >"$SWIFT_DIR/state.env" <<EOF
PROJECT_ID=$PROJECT_ID
REGION=$REGION
SWIFT_PORT=$SWIFT_PORT
EOF
    (
        umask 077
        params_lines >"$SWIFT_DIR/params.env"
    )
    log "ready: $PROXY_URL (Swift: $PROXY_URL/v1/AUTH_$PROJECT_ID; S3: path style, region $REGION)"
    cat "$SWIFT_DIR/params.env" >&3
}

cmd_env() {
    [ -s "$SWIFT_DIR/params.env" ] || die "no $SWIFT_DIR/params.env: run '$0 up'"
    local n
    for n in memcached "${SERVERS[@]}" proxy; do alive "$n" || die "$n is not running: run '$0 up'"; done
    if [ -f "$RUN/keystone-s3.pid" ]; then alive keystone-s3 || die "keystone-s3 is not running: run '$0 up'"; fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/healthcheck" || true)" = 200 ] ||
        die "the proxy does not answer $PROXY_URL/healthcheck"
    cat "$SWIFT_DIR/params.env"
}

cmd_down() {
    local n
    [ -d "$SWIFT_DIR" ] || return 0
    stop proxy object container account memcached keystone-s3
    if [ "${1:-}" = --purge ]; then
        rm -rf "$SWIFT_DIR"
        log "removed $SWIFT_DIR"
    fi
}

cmd_stop_proxy() { stop proxy; }

cmd_start_proxy() {
    need_root
    [ -s "$ETC/proxy-server.conf" ] || die "no $ETC/proxy-server.conf: run '$0 up' first"
    check_port proxy "$SWIFT_PORT"
    start_server proxy
    wait_healthcheck 30
    log "proxy answers $PROXY_URL/healthcheck"
}

cmd_object_path() {
    [ $# -eq 2 ] || die "usage: $0 object-path CONTAINER OBJECT"
    [ -s "$SWIFT_DIR/state.env" ] || die "no $SWIFT_DIR/state.env: run '$0 up' first"
    local account
    account=AUTH_$(sed -n 's/^PROJECT_ID=//p' "$SWIFT_DIR/state.env")
    "$PY" - "$ETC" "$SRV" "$account" "$1" "$2" <<'EOF'
import glob, os, sys
etc, srv, account, container, obj = sys.argv[1:]
from swift.common import utils
utils.set_swift_dir(etc)
from swift.common.ring import Ring
part, nodes = Ring(etc, ring_name="object").get_nodes(account, container, obj)
h = utils.hash_path(account, container, obj)
d = os.path.join(srv, nodes[0]["device"], "objects", str(part), h[-3:], h)
data = sorted(glob.glob(os.path.join(d, "*.data")))
if not data:
    sys.exit(f"swift.sh: no .data file for /{account}/{container}/{obj} (looked in {d})")
print(data[-1])
EOF
}

usage() {
    sed -n '/^# Usage/,/^# .up. and/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

case ${1:-} in
    up) cmd_up ;;
    env) cmd_env ;;
    down)
        shift
        cmd_down "$@"
        ;;
    stop-proxy) cmd_stop_proxy ;;
    start-proxy) cmd_start_proxy ;;
    object-path)
        shift
        cmd_object_path "$@"
        ;;
    *) usage ;;
esac
