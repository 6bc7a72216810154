#!/usr/bin/env bash
# bench/restorefloor.sh: the least time this machine's disk needs for a cold
# restore, whatever the tool: read the stored bytes and write the image's
# data at the same time, O_DIRECT, 4 MiB requests, several in flight, nothing
# decoded (fio, from Debian's package, installed when missing). A restore
# cannot be faster than this; a goal below it is a goal for the disk, not
# for the code.
#
#   bench/restorefloor.sh [--runs 5] [--iodepth 8] [--work DIR] STORED WRITE_BYTES
#
#   STORED       the file a restore reads (an archive of the pool)
#   WRITE_BYTES  the bytes a restore writes (the image's data, holes not
#                counted), with a suffix K, M or G
#   --runs       runs (default 5); each drops the page cache first
#   --iodepth    requests in flight per job (default 8: the restore's
#                eight workers)
#   --work       directory for the written file (default /var/tmp/rb-floor;
#                put it on the file system a restore writes to)
#
# Printed: per run the seconds of the read alone, the write alone (with its
# fsync) and both at once (the later of the two to finish), then medians.
set -euo pipefail

RUNS=5
DEPTH=8
WORK=/var/tmp/rb-floor
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "restorefloor.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--iodepth) DEPTH=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# = 2 ] || { usage >&2; exit 2; }
STORED=$1
WRITE=$(numfmt --from=iec "$2") || die "bad byte count $2"
[ -f "$STORED" ] || die "$STORED is not a file"
[ -w /proc/sys/vm/drop_caches ] || die "needs root (drops the page cache)"
command -v fio >/dev/null || apt-get install -y -q fio >/dev/null || die "cannot install fio"

mkdir -p "$WORK"
OUT=$WORK/out.img
trap 'rm -f "$OUT" "$WORK/fio.json"' EXIT
READ=$(stat -c %s "$STORED")
READ=$((READ / (4 << 20) * (4 << 20)))

job_r=(--name=read --filename="$STORED" --rw=read --size="$READ")
job_w=(--name=write --filename="$OUT" --rw=write --size="$WRITE" --end_fsync=1)
# fio prints JSON; this prints the slowest job's seconds.
run() {
	rm -f "$OUT"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	fio --output-format=json --bs=4M --direct=1 --ioengine=libaio --iodepth="$DEPTH" "$@" >"$WORK/fio.json"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%.2f" % (max(max(j["read"]["runtime"], j["write"]["runtime"]) for j in d["jobs"]) / 1000))' "$WORK/fio.json"
}

echo "reads $(numfmt --to=iec "$READ") of $STORED, writes $(numfmt --to=iec "$WRITE") to $WORK, $DEPTH requests of 4 MiB in flight per job"
R=() W=() B=()
for n in $(seq "$RUNS"); do
	r=$(run "${job_r[@]}")
	w=$(run "${job_w[@]}")
	b=$(run "${job_r[@]}" "${job_w[@]}")
	R+=("$r") W+=("$w") B+=("$b")
	echo "run $n: read $r s, write $w s, both at once $b s"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "median of $RUNS: read $(med "${R[@]}") s, write $(med "${W[@]}") s, both at once $(med "${B[@]}") s"
