#!/usr/bin/env bash
# bench/pairs.sh: two rb_module_rustack binaries, first backups of one image
# in turn, for a before/after comparison on a machine whose speed drifts.
#
#   bench/pairs.sh [--runs N] [--cold] [--work DIR] BIN_A BIN_B IMAGE
#
#   --runs  pairs to run (default 5); the order within a pair alternates
#   --cold  drop the page cache before every backup (root), as for a volume
#           attached a moment ago; default: read IMAGE into the cache first
#   --work  where the pools and the key go (default /var/tmp/rb-pairs)
#
# Each run is a full backup into a fresh pool with the same key, timed with
# /usr/bin/time. One line per run: binary (A or B), wall s, user s, sys s,
# peak RSS KiB, stored bytes; then the medians of each binary. The script
# checks that both binaries stored the same number of chunks (the same
# chunking of the same bytes) and removes the pools at the end.
set -euo pipefail

RUNS=5
COLD=0
WORK=/var/tmp/rb-pairs
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "pairs.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--cold) COLD=1; shift ;;
	--work) WORK=${2:?--work needs a directory}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# = 3 ] || { usage >&2; die "want BIN_A BIN_B IMAGE"; }
declare -A BIN=([A]=$(realpath "$1") [B]=$(realpath "$2"))
IMAGE=$(realpath "$3")
for b in A B; do [ -x "${BIN[$b]}" ] || die "${BIN[$b]} is not an executable"; done
[ -r "$IMAGE" ] || die "cannot read $IMAGE"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
if [ "$COLD" = 1 ] && ! [ -w /proc/sys/vm/drop_caches ]; then die "--cold needs root"; fi

mkdir -p "$WORK"
trap 'rm -rf "$WORK/pool"' EXIT
KEY=$WORK/key
[ -s "$KEY" ] || "${BIN[A]}" -c /dev/null keygen --key-file "$KEY" >/dev/null

RES=$WORK/results.tsv
: >"$RES"
for i in $(seq "$RUNS"); do
	order="A B"
	[ $((i % 2)) = 1 ] || order="B A"
	for b in $order; do
		rm -rf "$WORK/pool"
		mkdir "$WORK/pool"
		sync
		if [ "$COLD" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; else cat "$IMAGE" >/dev/null; fi
		sleep 1
		/usr/bin/time -f '%e %U %S %M' -o "$WORK/time" -- "${BIN[$b]}" -c /dev/null image backup --pool "$WORK/pool" \
			--name pairs --disk "vda=$IMAGE" --type full --key-file "$KEY" --json >"$WORK/out.json" ||
			die "binary $b failed (output in $WORK/out.json)"
		read -r wall user sys rss <"$WORK/time"
		read -r stored chunks < <(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["bytes_stored"], o["chunks"])' "$WORK/out.json")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$wall" "$user" "$sys" "$rss" "$stored" "$chunks" | tee -a "$RES"
	done
done
python3 - "$RES" "${BIN[A]}" "${BIN[B]}" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
chunks = {}
for r in rows:
    chunks.setdefault(r[0], set()).add(r[6])
if chunks.get("A") != chunks.get("B"):
    sys.exit(f"pairs.sh: the binaries stored different chunk counts: {chunks}")
for b, path in (("A", sys.argv[2]), ("B", sys.argv[3])):
    mine = [r for r in rows if r[0] == b]
    med = lambda i: statistics.median(float(r[i]) for r in mine)
    rng = lambda i: f"{min(float(r[i]) for r in mine):.2f}-{max(float(r[i]) for r in mine):.2f}"
    print(f"{b} {path}: wall {med(1):.2f} s ({rng(1)}), user {med(2):.2f} s, sys {med(3):.2f} s ({rng(3)}), "
          f"peak RSS {med(4) / 1024:.0f} MiB, stored {med(5) / 2**20:.1f} MiB")
EOF
