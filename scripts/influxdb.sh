#!/usr/bin/env bash
# influxdb.sh - a real InfluxDB 1.x (Debian 12's influxdb package, 1.6) on
# 127.0.0.1 for the metrics tests, with its own config and data under
# $INFLUXDB_DIR; nothing of the system's /etc/influxdb or /var/lib/influxdb
# is used.
#
# Usage:
#   eval "$(scripts/influxdb.sh up)"   start it unless it runs, wait for /ping,
#                                     create the test database, print 1 line
#   scripts/influxdb.sh env            print the same line; fails if not up
#   scripts/influxdb.sh down [--purge] stop it; --purge also deletes $INFLUXDB_DIR
#
# `up` and `env` print exactly this line on stdout (the rest goes to stderr):
#   export RB_INFLUXDB_URL=http://127.0.0.1:PORT
# The metrics tests read RB_INFLUXDB_URL; the database rb_test exists (each
# test creates and drops its own database besides).
#
# Environment:
#   INFLUXDB_DIR   state dir (default /tmp/rb-influxdb): influxdb.conf, meta/,
#                  data/, wal/, influxd.log, influxd.pid
#   INFLUXDB_PORT  HTTP port (default 18086: not the system's 8086, not
#                  Swift's 8080 nor the OpenStack harness's ports)
#   INFLUXDB_BIND_PORT  backup/RPC port (default 18088)
# Runs as the calling user, in its own session (setsid); `down` sends
# SIGTERM to the process group, SIGKILL after 5 s.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=${INFLUXDB_DIR:-/tmp/rb-influxdb}
PORT=${INFLUXDB_PORT:-18086}
BIND_PORT=${INFLUXDB_BIND_PORT:-18088}
URL=http://127.0.0.1:$PORT
PIDFILE=$DIR/influxd.pid

say() { echo "influxdb.sh: $*" >&2; }

running() {
    [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

ping_ok() {
    curl -fsS -o /dev/null -m 2 "$URL/ping" 2>/dev/null
}

write_config() {
    mkdir -p "$DIR/meta" "$DIR/data" "$DIR/wal"
    local conf
    conf=$(cat <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$BIND_PORT"
[meta]
  dir = "$DIR/meta"
[data]
  dir = "$DIR/data"
  wal-dir = "$DIR/wal"
  query-log-enabled = false
[coordinator]
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$PORT"
  auth-enabled = false
  log-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
CONF
)
    if [ ! -f "$DIR/influxdb.conf" ] || [ "$(cat "$DIR/influxdb.conf")" != "$conf" ]; then
        printf '%s\n' "$conf" >"$DIR/influxdb.conf"
        running && { say "config changed: restarting"; stop; }
    fi
    return 0
}

stop() {
    running || { rm -f "$PIDFILE"; return 0; }
    local pid i
    pid=$(cat "$PIDFILE")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    rm -f "$PIDFILE"
}

up() {
    need_debs influxd:influxdb curl:curl >&2
    write_config
    if ! running; then
        if ping_ok; then
            say "port $PORT answers /ping but no influxd of $DIR runs there; set INFLUXDB_PORT"
            return 1
        fi
        setsid influxd run -config "$DIR/influxdb.conf" </dev/null >>"$DIR/influxd.log" 2>&1 &
        echo $! >"$PIDFILE"
        say "started influxd (pid $(cat "$PIDFILE")) on $URL"
    fi
    local i
    for i in $(seq 100); do
        ping_ok && break
        running || { tail -n 20 "$DIR/influxd.log" >&2; say "influxd exited"; return 1; }
        sleep 0.1
    done
    ping_ok || { say "no answer on $URL/ping after 10 s"; return 1; }
    curl -fsS -m 5 -o /dev/null -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE rb_test" || {
        say "CREATE DATABASE rb_test failed"
        return 1
    }
    say "up: $URL ($(curl -fsS -m 2 -D - -o /dev/null "$URL/ping" | tr -d '\r' | sed -n 's/^X-Influxdb-Version: //Ip'))"
    echo "export RB_INFLUXDB_URL=$URL"
}

case "${1:-}" in
up) up ;;
env)
    running && ping_ok || { say "not running (scripts/influxdb.sh up)"; exit 1; }
    echo "export RB_INFLUXDB_URL=$URL"
    ;;
down)
    stop
    [ "${2:-}" = "--purge" ] && rm -rf "$DIR"
    say "stopped"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
    exit 2
    ;;
esac
