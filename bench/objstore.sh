#!/usr/bin/env bash
# bench/objstore.sh: the dedup store in a local directory, on Swift (native
# API) and on S3 (Swift's s3api), side by side on the benchmark image: a
# first backup, an unchanged re-backup, and a restore, each timed with
# /usr/bin/time (wall seconds, peak RSS). Counts the objects an unchanged
# re-backup adds to the object stores (the goal: no pack, no index file).
#
#   bench/objstore.sh [--size 2G] [--work DIR] [--bin FILE] [--out FILE]
#
#   --size   image size (default 2G; 256M for a quick run)
#   --work   work directory (default /var/tmp/rb-bench-objstore); the image
#            from bench/genimage is kept there and reused
#   --bin    use this rb_module_rustack binary instead of building one
#   --out    also write the markdown report to FILE
#
# Needs the OpenStack harness (../shared/openstack/up.sh) and the Swift
# cluster of scripts/swift.sh, which it starts if they are not up (and
# leaves running); /usr/bin/time.
set -euo pipefail

CMDLINE="bench/objstore.sh $*"
SIZE=2G
WORK=/var/tmp/rb-bench-objstore
BIN=""
OUT=""
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--bin) BIN=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/objstore.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "bench/objstore.sh: $*" >&2; exit 1; }
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
[ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null || die "needs /usr/bin/time (apt-get install time)"
HARNESS=${OPENSTACK_HARNESS:-$ROOT/../shared/openstack}
curl -sf -m 3 http://127.0.0.1:5000/v3 >/dev/null || "$HARNESS/up.sh" >&2 || die "the OpenStack harness did not start"
eval "$("$ROOT/scripts/swift.sh" up)" || die "scripts/swift.sh up failed"
CRED=${OPENSTACK_HARNESS_DIR:-/tmp/openstack-harness}/credentials.env
[ -r "$CRED" ] || die "no $CRED"
# shellcheck disable=SC1090
. "$CRED"

mkdir -p "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/genimage" ./bench/genimage) || die "go build ./bench/genimage failed"
if [ -z "$BIN" ]; then
	(cd "$ROOT" && go build -o "$WORK/bin/rb_module_rustack" ./cmd/rb_module_rustack) || die "go build failed"
	BIN=$WORK/bin/rb_module_rustack
fi
IMG=$WORK/images-$SIZE
stamp=$(cat "$ROOT"/bench/genimage/*.go | sha256sum | cut -c1-16)
if [ "$(cat "$IMG/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$IMG"
	"$WORK/bin/genimage" -dir "$IMG" -size "$SIZE" -seed 1 -only base >&2
	echo "$stamp" >"$IMG/.stamp"
fi
SRC=$IMG/base.img

LOGS=$WORK/logs
KEY=$WORK/key
CONF=$WORK/rb.conf
rm -rf "$LOGS" "$WORK/pool" "$WORK/store" "$WORK/restore" "$KEY"
mkdir -p "$LOGS"
"$BIN" -c /dev/null keygen --key-file "$KEY" >/dev/null
cat >"$CONF" <<EOF
url $OS_AUTH_URL
username $OS_USERNAME
password $OS_PASSWORD
domain $OS_USER_DOMAIN_NAME
project_id $OS_PROJECT_ID
region $OS_REGION_NAME
log_file $WORK/rb.log
state_dir $WORK/state
EOF
chmod 600 "$CONF"

RUN=$(date +%s)
# params KIND: the store arguments of one backend, each under a fresh prefix.
params() {
	case $1 in
	local) echo "--param store=$WORK/store" ;;
	swift) sed "s|store=swift://\([^/ ]*\)/[^ ]*|store=swift://\1/bench-$RUN-swift|" <<<"$RB_SWIFT_PARAMS" ;;
	s3) sed "s|store=s3://\([^/ ]*\)/[^ ]*|store=s3://\1/bench-$RUN-s3|" <<<"$RB_S3_PARAMS" ;;
	esac
}

# swiftcli ARGS...: the swift command line client as the harness user.
CONTAINER=$(sed 's|.*store=[a-z0-9]*://\([^/ ]*\)/.*|\1|' <<<"$RB_SWIFT_PARAMS")
swiftcli() {
	swift --os-auth-url "$OS_AUTH_URL" --auth-version 3 --os-username "$OS_USERNAME" --os-password "$OS_PASSWORD" \
		--os-user-domain-name "$OS_USER_DOMAIN_NAME" --os-project-id "$OS_PROJECT_ID" "$@"
}

# objects KIND: the number of objects in the store (packs and index files).
# Swift and S3 share the container, each under its own prefix.
objects() {
	case $1 in
	local) find "$WORK/store/packs" "$WORK/store/index" -type f | wc -l ;;
	*) swiftcli list "$CONTAINER" --prefix "bench-$RUN-$1/" | grep -c -E '/(packs|index)/' || true ;;
	esac
}

# servercpu: CPU seconds used so far by the Swift cluster's processes
# (proxy, object, container and account servers, their Keystone), from
# /proc/PID/stat; the store's own cost on this machine, where it shares
# the cores with the module.
TICK=$(getconf CLK_TCK)
servercpu() {
	local t=0 pid f
	for pid in $(pgrep -f /tmp/rb-swift/); do
		f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	awk -v t="$t" -v k="$TICK" 'BEGIN { printf "%.2f", t / k }'
}

declare -a ROWS=()
declare -A SECS=()
timed() {
	local name=$1 c0 c1
	shift
	c0=$(servercpu)
	/usr/bin/time -f '%e %M %U %S' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" ||
		{ cat "$LOGS/$name.err" >&2; die "$name failed"; }
	c1=$(servercpu)
	read -r secs rss usr sys <"$LOGS/$name.time"
	SECS[$name]=$secs
	ROWS+=("$name|$secs|$((rss / 1024))|$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')|$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')")
}

declare -A ADDED=()
for kind in local swift s3; do
	# shellcheck disable=SC2046
	P=($(params "$kind"))
	REPO=(-c "$CONF" --pool "$WORK/pool" --key-file "$KEY" "${P[@]}")
	echo "$kind: backup, unchanged re-backup, restore" >&2
	timed "$kind backup" "$BIN" image backup "${REPO[@]}" --name bench --disk "vda=$SRC" --type full --json
	before=$(objects "$kind")
	timed "$kind re-backup" "$BIN" image backup "${REPO[@]}" --name bench --disk "vda=$SRC" --type incremental --json
	ADDED[$kind]=$(($(objects "$kind") - before))
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["archive"])' "$LOGS/$kind re-backup.out")
	rm -rf "$WORK/restore"
	timed "$kind restore" "$BIN" restore "${REPO[@]}" "$id" --to-dir "$WORK/restore"
	cmp "$SRC" "$WORK/restore/vda.img" || die "$kind restore differs from the image"
	rm -rf "$WORK/restore"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "    $CMDLINE"
	echo
	echo "$(nproc) cores, $(date -u +%Y-%m-%d), $(uname -r); image $SIZE (bench/genimage seed 1), store mode, AES-256-GCM;"
	echo "Swift 2.30 (scripts/swift.sh: one replica, loopback) natively and through s3api."
	echo
	echo "| step | wall s | × local | peak RSS MiB | module CPU s | Swift servers' CPU s |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for r in "${ROWS[@]}"; do
		IFS='|' read -r n s m c sc <<<"$r"
		step=${n#* }
		echo "| $n | $s | $(ratio "$s" "${SECS[local $step]}") | $m | $c | $sc |"
	done
	echo
	echo "Objects (packs, index files) an unchanged re-backup added: local ${ADDED[local]}, Swift ${ADDED[swift]}, S3 ${ADDED[s3]}."
} | tee "${OUT:-/dev/null}"
rm -rf "$WORK/pool" "$WORK/store"
for kind in swift s3; do
	swiftcli delete "$CONTAINER" --prefix "bench-$RUN-$kind/" >/dev/null || echo "bench/objstore.sh: could not delete bench-$RUN-$kind/ in $CONTAINER" >&2
done
