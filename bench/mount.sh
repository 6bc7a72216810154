#!/usr/bin/env bash
# bench/mount.sh: how fast an archive is browsable through `mount`.
#
#   bench/mount.sh [--work DIR] [--size 2G] [--image FILE] [--runs N] [--bin FILE] [--store]
#
#   --work   work directory (default /var/tmp/rb-mount-bench): the image,
#            the pool and the key; reused while the image is unchanged
#   --size   size of the generated image (bench/genimage base.img, default 2G)
#   --image  back up and mount this image instead of a generated one
#            (e.g. a real ext4 image from bench/fsimage.sh)
#   --runs   cold runs (default 3)
#   --bin    a prebuilt rb_module_rustack (default: go build)
#   --store  back up into a dedup store in a local directory beside the
#            pool (which then holds only the manifest) instead of the pool
#
# Each run drops the page cache (cold local pool), starts `mount`, and
# measures: the time until the mount is in /proc/self/mountinfo, the
# latency of the first 4 KiB read at the middle of the disk, the rate of
# one sequential 100 MiB read (dd bs=1M) from a quarter of the disk, and the
# mount process's peak RSS (VmHWM) before SIGTERM. Needs root and FUSE.
set -euo pipefail

WORK=/var/tmp/rb-mount-bench
SIZE=2G
IMAGE=""
RUNS=3
BIN=""
STORE=0
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "mount.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--work) WORK=${2:?}; shift 2 ;;
	--size) SIZE=${2:?}; shift 2 ;;
	--image) IMAGE=${2:?}; shift 2 ;;
	--runs) RUNS=${2:?}; shift 2 ;;
	--bin) BIN=${2:?}; shift 2 ;;
	--store) STORE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument $1" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "needs root (drop_caches, FUSE)"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
if [ -z "$BIN" ]; then
	BIN=$WORK/rb_module_rustack
	(cd "$ROOT" && go build -o "$BIN" ./cmd/rb_module_rustack)
fi
if [ -z "$IMAGE" ]; then
	IMAGE=$WORK/img-$SIZE/base.img
	if [ ! -f "$IMAGE" ]; then
		(cd "$ROOT" && go run ./bench/genimage -dir "$WORK/img-$SIZE" -size "$SIZE" -seed 1 -only base)
	fi
fi
POOL=$WORK/pool-$(basename "$IMAGE" .img)-$(stat -c %s-%Y "$IMAGE")
REPO=(--pool "$POOL")
if [ "$STORE" = 1 ]; then
	POOL=$POOL-store
	REPO=(--pool "$POOL" --store "$POOL-dedup")
fi
KEY=$WORK/key
[ -f "$KEY" ] || "$BIN" keygen --key-file "$KEY" >/dev/null
if [ ! -d "$POOL" ]; then
	"$BIN" image backup "${REPO[@]}" --key-file "$KEY" --name bench --disk vda="$IMAGE" >/dev/null
fi
ID=$("$BIN" archives "${REPO[@]}" --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | tail -1)
SIZE_B=$(stat -c %s "$IMAGE")
MNT=$WORK/mnt
mkdir -p "$MNT"
now() { date +%s%N; }
echo "image $IMAGE ($SIZE_B bytes), archive $ID, ${REPO[*]}"
printf 'run\tmount_ms\tfirst_byte_ms\tread_100MiB_MB_s\tpeak_rss_MiB\n'
for run in $(seq 1 "$RUNS"); do
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(now)
	"$BIN" mount "$ID" "$MNT" "${REPO[@]}" --key-file "$KEY" >"$WORK/mount.out" 2>&1 &
	pid=$!
	until grep -q " $MNT .* - fuse.rb_module_rustack " /proc/self/mountinfo; do
		kill -0 $pid 2>/dev/null || { cat "$WORK/mount.out"; die "mount failed"; }
		sleep 0.005
	done
	t1=$(now)
	mid=$((SIZE_B / 2 / 4096))
	dd if="$MNT/vda.img" of=/dev/null bs=4096 count=1 skip=$mid status=none
	t2=$(now)
	q=$((SIZE_B / 4 / 1048576))
	t3=$(now)
	dd if="$MNT/vda.img" of=/dev/null bs=1M count=100 skip=$q status=none
	t4=$(now)
	rss=$(awk '/VmHWM/ { print int($2 / 1024) }' /proc/$pid/status)
	kill -TERM $pid
	wait $pid
	awk -v r="$run" -v m=$(((t1 - t0) / 1000000)) -v f=$(((t2 - t1) / 1000000)) -v ns=$((t4 - t3)) -v rss="$rss" \
		'BEGIN { printf "%s\t%d\t%d\t%.0f\t%d\n", r, m, f, 104857600 / (ns / 1e9) / 1e6, rss }'
done
