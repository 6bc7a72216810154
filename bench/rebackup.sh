#!/usr/bin/env bash
# bench/rebackup.sh: the unchanged re-backup of rb_module_rustack, two builds
# side by side: each run backs up the same cached image with build A, then
# with build B (A B A B ...), and the report gives each one's median wall and
# CPU seconds and the median of the B/A ratios of the pairs (pairs cancel
# most of a shared machine's drift).
#
#   bench/rebackup.sh [--size 2G] [--runs 11] [--work DIR] [--store] BIN_A [BIN_B]
#
#   --size   size of bench/genimage's base.img (default 2G; generated once
#            under WORK/images-SIZE-seed1, as bench/compare.sh does)
#   --runs   pairs (default 11)
#   --work   work directory (default /var/tmp/rb-bench-rebackup)
#   --store  back up into a dedup store instead of an archive pool
#
# Each build gets its own repository with a full backup of the image; every
# timed run is a differential on top of it (so the parent is the same for all
# runs), with -c /dev/null and a key from keygen. The image is read once
# (cat > /dev/null) before every run: a warm page cache, as in compare.sh's
# unchanged step. With one build, it is timed alone.
set -euo pipefail

SIZE=2G
RUNS=11
WORK=/var/tmp/rb-bench-rebackup
MODE=pool
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "rebackup.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--work) WORK=${2:?--work needs a directory}; shift 2 ;;
	--store) MODE=store; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || { usage >&2; die "want one or two binaries"; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs: want a positive number"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
BINS=()
for b in "$@"; do
	[ -x "$b" ] || die "$b: not an executable"
	BINS+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
done

IMG="$WORK/images-$SIZE-seed1"
stamp=$(cat "$ROOT"/bench/genimage/*.go | sha256sum | cut -c1-16)
if [ "$(cat "$IMG/stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$IMG"
	(cd "$ROOT" && go run ./bench/genimage -dir "$IMG" -size "$SIZE" -seed 1 -only base) >&2
	echo "$stamp" >"$IMG/stamp"
fi
SRC="$IMG/base.img"

# A store keeps a copy of each archive's manifest in the pool too (default
# /opt/rubackup/backup/rustack): each build gets its own pool as well.
repo_flags() { # i
	if [ "$MODE" = store ]; then echo "--store $WORK/repo$1 --pool $WORK/pool$1"; else echo "--pool $WORK/repo$1"; fi
}
for i in "${!BINS[@]}"; do
	rm -rf "$WORK/repo$i" "$WORK/pool$i" "$WORK/key$i"
	mkdir -p "$WORK/repo$i" "$WORK/pool$i"
	"${BINS[$i]}" keygen --key-file "$WORK/key$i" >/dev/null
	# shellcheck disable=SC2046
	"${BINS[$i]}" -c /dev/null image backup $(repo_flags "$i") --name rebackup --disk "vda=$SRC" \
		--type full --key-file "$WORK/key$i" >/dev/null || die "full backup with ${BINS[$i]} failed"
done

RES="$WORK/times.tsv"
: >"$RES"
for run in $(seq 1 "$RUNS"); do
	for i in "${!BINS[@]}"; do
		cat "$SRC" >/dev/null
		# shellcheck disable=SC2046
		/usr/bin/time -f "$run\t$i\t%e\t%U\t%S" -a -o "$RES" -- "${BINS[$i]}" -c /dev/null image backup \
			$(repo_flags "$i") --name rebackup --disk "vda=$SRC" --type differential \
			--key-file "$WORK/key$i" --json >"$WORK/out.json" || die "run $run with ${BINS[$i]} failed"
		grep -q '"type": "differential"' "$WORK/out.json" || die "run $run with ${BINS[$i]} was not stored as a differential: $(cat "$WORK/out.json")"
	done
done

python3 - "$RES" "$MODE" "$SIZE" "$@" <<'EOF'
import statistics, sys
res, mode, size, bins = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t = {}
for line in open(res):
    run, i, wall, user, sys_ = line.split("\t")
    t.setdefault(int(i), {})[int(run)] = (float(wall), float(user) + float(sys_))
print(f"unchanged re-backup of a {size} image ({mode}), {len(t[0])} runs per build:")
for i, b in enumerate(bins):
    w = [v[0] for v in t[i].values()]
    c = [v[1] for v in t[i].values()]
    print(f"  {'AB'[i]} {b}: wall median {statistics.median(w):.3f} s (min {min(w):.3f}, max {max(w):.3f}), "
          f"CPU median {statistics.median(c):.3f} s")
if len(bins) == 2:
    runs = sorted(set(t[0]) & set(t[1]))
    rw = [t[1][r][0] / t[0][r][0] for r in runs]
    rc = [t[1][r][1] / t[0][r][1] for r in runs]
    print(f"  B/A per pair: wall median {statistics.median(rw):.3f} ({min(rw):.3f}-{max(rw):.3f}), "
          f"CPU median {statistics.median(rc):.3f} ({min(rc):.3f}-{max(rc):.3f})")
EOF
