#!/usr/bin/env bash
# bench/prune.sh: forget and prune as whole commands on a dedup store of many
# archives of one image, timed with /usr/bin/time (wall seconds, peak RSS).
#
#   bench/prune.sh [--size 2G] [--archives 30] [--keep 10] [--change 2]
#                  [--work DIR] [--bin FILE] [--out FILE] [--keep-store]
#
#   --size      image size (default 2G; 256M for a quick run)
#   --archives  backups made before forgetting (default 30): one full, then
#               incrementals, each after --change % of the image was rewritten
#   --keep      forget --keep-last N (default 10)
#   --change    percent of the image rewritten before each further backup
#               (default 2): half in 1 MiB runs, half in scattered 4 KiB
#               blocks, from a fixed pseudo-random sequence
#   --work      work directory (default /var/tmp/rb-bench-prune); the base
#               image from bench/genimage is kept there and reused
#   --bin       use this rb_module_rustack binary instead of building one
#   --out       also write the markdown report to FILE
#   --keep-store  keep the store and the image copy afterwards
#
# Steps:
#   backups     the --archives backups into a fresh store (--store DIR,
#               AES-256-GCM, keygen), total wall time only
#   plan        forget --keep-last N --dry-run --json (the catalog and plan)
#   forget      forget --keep-last N --json (archives removed, no prune)
#   prune dry   prune --dry-run --json (what prune would do)
#   prune       prune --json: mark, rewrite packs above 10 % unused, delete
#   verify      verify --all (every archive left reads back), wall time only
#
# Needs: go (builds the binaries), /usr/bin/time (apt-get install time).
set -euo pipefail

CMDLINE="bench/prune.sh $*"
SIZE=2G
ARCHIVES=30
KEEP=10
CHANGE=2
WORK=/var/tmp/rb-bench-prune
BIN=""
OUT=""
KEEPSTORE=0
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=$2; shift 2 ;;
	--archives) ARCHIVES=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	--change) CHANGE=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--bin) BIN=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--keep-store) KEEPSTORE=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/prune.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "bench/prune.sh: $*" >&2; exit 1; }
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
[ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null || die "needs /usr/bin/time (apt-get install time)"
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

STORE=$WORK/store
POOL=$WORK/pool
KEY=$WORK/key
SRC=$WORK/disk.img
LOGS=$WORK/logs
rm -rf "$STORE" "$POOL" "$KEY" "$LOGS"
mkdir -p "$LOGS"
cp --sparse=always "$IMG/base.img" "$SRC"
"$BIN" -c /dev/null keygen --key-file "$KEY" >/dev/null
REPO=(--pool "$POOL" --store "$STORE" --key-file "$KEY")

# mutate N: rewrites CHANGE % of the image in place, differently for each N.
mutate() {
	python3 - "$SRC" "$1" "$CHANGE" <<'EOF'
import os, random, sys
path, n, pct = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
size = os.path.getsize(path)
rnd = random.Random(1000 + n)
budget = int(size * pct / 100)
with open(path, "r+b") as f:
    done = 0
    while done < budget // 2:  # 1 MiB runs
        off = rnd.randrange(0, size - (1 << 20)) & ~4095
        f.seek(off); f.write(rnd.randbytes(1 << 20)); done += 1 << 20
    done = 0
    while done < budget // 2:  # scattered 4 KiB blocks
        off = rnd.randrange(0, size // 4096) * 4096
        f.seek(off); f.write(rnd.randbytes(4096)); done += 4096
EOF
}

# timed NAME CMD...: runs CMD under /usr/bin/time; stdout to logs/NAME.out;
# records "NAME seconds rss_kib".
declare -a ROWS=()
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" ||
		{ cat "$LOGS/$name.err" >&2; die "$name failed"; }
	read -r secs rss <"$LOGS/$name.time"
	ROWS+=("$name|$secs|$((rss / 1024))")
}

store_bytes() { du -sb "$STORE" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo "making $ARCHIVES archives of a $SIZE image ($CHANGE % rewritten between them)" >&2
t0=$(date +%s.%N)
for ((i = 1; i <= ARCHIVES; i++)); do
	typ=incremental
	[ "$i" = 1 ] && typ=full
	[ "$i" -gt 1 ] && mutate "$i"
	"$BIN" -c /dev/null image backup "${REPO[@]}" --name bench --disk "vda=$SRC" --type "$typ" --json >"$LOGS/backup-$i.json" ||
		die "backup $i failed"
done
t1=$(date +%s.%N)
BACKUPS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
BEFORE=$(store_bytes)
CHUNKS_BEFORE=$(find "$STORE" -type f | wc -l)

timed plan "$BIN" -c /dev/null forget "${REPO[@]}" --keep-last "$KEEP" --dry-run --json
timed forget "$BIN" -c /dev/null forget "${REPO[@]}" --keep-last "$KEEP" --json
timed "prune dry" "$BIN" -c /dev/null prune "${REPO[@]}" --dry-run --json
timed prune "$BIN" -c /dev/null prune "${REPO[@]}" --json
AFTER=$(store_bytes)
timed verify "$BIN" -c /dev/null verify "${REPO[@]}" --all

REPORT=$(python3 - "$LOGS/prune.out" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("store") or {}
print(f"prune counted the references of {r.get('archives', 0)} archives; packs {s.get('packs')} -> "
      f"deleted {s.get('packs_deleted')}, rewritten {s.get('packs_rewritten')}, written {s.get('packs_written')}; "
      f"chunks {s.get('chunks')} -> used {s.get('chunks_used')}, removed {s.get('chunks_removed')}; "
      f"freed {s.get('bytes_freed', 0) / 1048576:.1f} MiB, written {s.get('bytes_written', 0) / 1048576:.1f} MiB")
EOF
)
REMOVED=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(sum(1 for g in (p if isinstance(p, list) else p.get("vms", [p])) for a in g.get("archives", []) if a.get("decision") == "remove"))' "$LOGS/forget.out" 2>/dev/null || echo "?")

{
	echo "    $CMDLINE"
	echo
	echo "$(nproc) cores, $(date -u +%Y-%m-%d), $(uname -r); image $SIZE (bench/genimage seed 1), $ARCHIVES archives"
	echo "(1 full, then incrementals after $CHANGE % rewritten each time), store mode, AES-256-GCM;"
	echo "making them took $BACKUPS s. forget --keep-last $KEEP removed $REMOVED archives."
	echo "Store: $(mib "$BEFORE") MiB in $CHUNKS_BEFORE files before, $(mib "$AFTER") MiB after prune."
	echo "$REPORT"
	echo
	echo "| step | wall s | peak RSS MiB |"
	echo "| --- | --- | --- |"
	for r in "${ROWS[@]}"; do
		IFS='|' read -r n s m <<<"$r"
		echo "| $n | $s | $m |"
	done
} | tee "${OUT:-/dev/null}"

if [ "$KEEPSTORE" = 0 ]; then
	rm -rf "$STORE" "$POOL" "$SRC"
fi
