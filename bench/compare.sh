#!/usr/bin/env bash
# bench/compare.sh: rb_module_rustack, restic and borg side by side, in one run,
# on the seeded image from bench/genimage and its two mutations, or on a real
# file-system image and an aged copy of it (--image fs).
#
#   bench/compare.sh [--image synthetic|fs] [--size 2G] [--out FILE] [--work DIR]
#                    [--seed N] [--tools rustack,restic,borg] [--runs N] [--bin FILE]
#                    [--rb-compression NAME] [--chain [N]] [--cold-backup] [--keep]
#
#   --image  synthetic (default): bench/genimage's image; fs: an ext4 image
#            of this machine's files from bench/fsimage.sh (needs root), with
#            the steps first, unchanged, aged (an incremental after the file
#            system was aged in place) and restore
#   --size   image size (default 2G, 3G for --image fs; 256M for a quick run)
#   --rb-compression  rb_module_rustack's codec (default: its default, zstd)
#   --chain  a chain of N incrementals (default 10) instead of the single
#            mutations: after the first backup, N steps each backing up the
#            image with a fresh scattered 1 % of its 4 KiB blocks rewritten
#            (cumulative: step k is step k-1 changed again; bench/genimage
#            -chain), then a cold restore of the LAST point of the chain,
#            compared with that step's image (synthetic image only)
#   --out    also write the markdown report to FILE
#   --work   work directory (default /var/tmp/rb-bench); the generated images
#            are kept there and reused while bench/genimage is unchanged
#   --runs   repeat the whole sequence N times with fresh repositories and
#            report medians (default 1); the tools' order rotates per run
#   --bin    use this rb_module_rustack binary instead of building ./cmd/...
#   --cold-backup  drop the page cache before each backup instead of reading
#            the image into it first: the disk of a real backup is a volume
#            attached a moment ago, never read on the proxy
#   --keep   keep the repositories after the run (for inspection)
#
# Steps, each timed with /usr/bin/time for every tool:
#   first       full backup of base.img
#   unchanged   backup of base.img again (incremental for rb_module_rustack)
#   scattered   backup of scattered.img (1 % of the 4 KiB blocks rewritten)
#   clustered   backup of clustered.img (1 % of the image in 1 MiB runs)
#   restore     restore of the first backup, then fsync of the restored
#               image (a restore is done when the image is on disk;
#               rb_module_rustack fsyncs itself, restic and borg do not);
#               sha256 compared with base.img
# With --chain N the steps are first, chain1 ... chainN (each an incremental
# of chain-K.img on top of the step before) and chainrestore (the restore of
# chainN, sha256 compared with chain-N.img).
#
# Every tool backs up the same fixed path, WORK/src/disk.img. Before each
# backup the step's image is hard-linked there afresh (rm + ln: no data is
# copied; the inode's ctime changes, and for a new image the inode too), so
# restic and borg use their parent snapshot / files cache but must read the
# content, as they must for a fresh snapshot of a block device. The file is
# then read once (cat > /dev/null) so every tool runs with a warm page cache
# (with --cold-backup the cache is dropped instead, for every tool), and
# `sync` flushes earlier writes so they do not land in the timed run.
#
# Before each restore the page cache is dropped (sync; echo 3 >
# /proc/sys/vm/drop_caches), for every tool: a restore reads a repository
# written hours or days earlier, not one still in memory. (rb_module_rustack
# writes its archives with O_DIRECT, so they never sit in the cache, while
# restic's and borg's would: a warm restore would compare a cold read with a
# warm one.) --warm-restore keeps the cache; where drop_caches is not
# writable (not root, a container) the restore runs warm and the report says so.
#
# Before every step the script waits until the disk under WORK has been idle
# for a second (at most 30 s): the writeback and journal commits of one
# tool's step must not slow down the next tool's. The machine's disk may
# still be shared with other guests of the host; medians over --runs and the
# min-max range show how much that moved the numbers.
#
# rb_module_rustack runs with its defaults (-c /dev/null: an installed
# configuration file is ignored), encryption on (AES-256-GCM, keygen).
#
# Needs: go (builds the binaries), apt-get for restic, borgbackup and time if
# missing (the only network use). Run from anywhere inside the repository.
set -euo pipefail

CMDLINE="bench/compare.sh $*"
SIZE=""
IMAGE=synthetic
RB_COMPRESSION=""
OUT=""
WORK=""
SEED=1
TOOLS="rustack,restic,borg"
KEEP=0
PREBUILT=""
RUNS=1
WARM_RESTORE=0
COLD_BACKUP=0
CHAIN=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "compare.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	--image) IMAGE=${2:?--image needs synthetic or fs}; shift 2 ;;
	--rb-compression) RB_COMPRESSION=${2:?--rb-compression needs a codec}; shift 2 ;;
	--out) OUT=${2:?--out needs a file}; shift 2 ;;
	--work) WORK=${2:?--work needs a directory}; shift 2 ;;
	--seed) SEED=${2:?--seed needs a number}; shift 2 ;;
	--tools) TOOLS=${2:?--tools needs a list}; shift 2 ;;
	--bin) PREBUILT=${2:?--bin needs a file}; shift 2 ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--warm-restore) WARM_RESTORE=1; shift ;;
	--cold-backup) COLD_BACKUP=1; shift ;;
	--chain)
		CHAIN=10
		if [[ "${2:-}" =~ ^[0-9]+$ ]]; then CHAIN=$2; shift; fi
		shift
		;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument $1" ;;
	esac
done

case "$IMAGE" in
synthetic) SIZE=${SIZE:-2G} ;;
fs) SIZE=${SIZE:-3G} ;;
*) die "--image: want synthetic or fs" ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/rb-bench}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
for t in "${TOOL_LIST[@]}"; do
	case "$t" in rustack | restic | borg) ;; *) die "--tools: unknown tool $t (want rustack, restic, borg)" ;; esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs: want a positive number"
[ "$CHAIN" = 0 ] || [ "$CHAIN" -ge 1 ] || die "--chain: want at least 1 step"
[ "$CHAIN" = 0 ] || [ "$IMAGE" = synthetic ] || die "--chain needs the synthetic image"
has_tool() { [[ ",$TOOLS," == *",$1,"* ]]; }

# --- packages -------------------------------------------------------------
missing=()
command -v restic >/dev/null || missing+=(restic)
command -v borg >/dev/null || missing+=(borgbackup)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]} with apt-get" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get install -y "${missing[@]}" >&2 || {
		$SUDO apt-get update >&2 && $SUDO apt-get install -y "${missing[@]}" >&2
	} || die "apt-get install ${missing[*]} failed"
fi

# --- binaries and images --------------------------------------------------
mkdir -p "$WORK/bin" "$WORK/logs"
(cd "$ROOT" && go build -o "$WORK/bin/genimage" ./bench/genimage) || die "go build ./bench/genimage failed"
BIN="$WORK/bin/rb_module_rustack"
# The version is taken now, not when the report is written: the checkout may
# move while the benchmark runs.
VER_OURS=$(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)
if has_tool rustack; then
	if [ -n "$PREBUILT" ]; then
		cp "$PREBUILT" "$BIN" || die "--bin $PREBUILT: cannot copy it"
		VER_OURS="prebuilt $PREBUILT, checkout at $VER_OURS"
	else
		(cd "$ROOT" && go build -o "$BIN" ./cmd/rb_module_rustack) || die "go build ./cmd/rb_module_rustack failed"
	fi
fi

if [ "$IMAGE" = fs ]; then
	IMG="$WORK/images-fs-$SIZE-seed$SEED"
	"$ROOT/bench/fsimage.sh" --dir "$IMG" --size "$SIZE" --seed "$SEED" || die "bench/fsimage.sh failed"
	IMAGE_DESC="ext4 file system of $SIZE built by bench/fsimage.sh from this machine's /usr ($(du -h "$IMG/base.img" | cut -f1) allocated); aged: files rewritten in place, appended, deleted and added (seed $SEED)"
else
	IMG="$WORK/images-$SIZE-seed$SEED"
	IMAGE_DESC="$SIZE, seed $SEED: 1 MiB extents, 50 % zeros (holes), 30 % random, 20 % text"
	stamp=$(cat "$ROOT"/bench/genimage/*.go | sha256sum | cut -c1-16)
	if [ "$(cat "$IMG/stamp" 2>/dev/null)" != "$stamp" ]; then
		echo "generating images in $IMG" >&2
		rm -rf "$IMG"
		"$WORK/bin/genimage" -dir "$IMG" -size "$SIZE" -seed "$SEED" >&2
		for f in base scattered clustered; do
			sha256sum "$IMG/$f.img" | cut -d' ' -f1 >"$IMG/$f.sha256"
		done
		sync
		echo "$stamp" >"$IMG/stamp"
	else
		echo "reusing images in $IMG" >&2
	fi
	if [ "$CHAIN" -gt 0 ]; then
		# Steps already written are kept by genimage (they are deterministic);
		# the stamp above removed them with everything else when it changed.
		if [ ! -f "$IMG/chain-$CHAIN.sha256" ]; then
			echo "generating a chain of $CHAIN steps in $IMG" >&2
			"$WORK/bin/genimage" -dir "$IMG" -size "$SIZE" -seed "$SEED" -only '' -chain "$CHAIN" >&2
			for k in $(seq 1 "$CHAIN"); do
				[ -f "$IMG/chain-$k.sha256" ] || sha256sum "$IMG/chain-$k.img" | cut -d' ' -f1 >"$IMG/chain-$k.sha256"
			done
			sync
		fi
		IMAGE_DESC="$IMAGE_DESC; chain of $CHAIN incrementals, each after a fresh scattered 1 % of the 4 KiB blocks (cumulative)"
	fi
fi
IMG_BYTES=$(stat -c %s "$IMG/base.img")

# --- repositories -----------------------------------------------------------
SRC_DIR="$WORK/src"
SRC="$SRC_DIR/disk.img"

export RESTIC_REPOSITORY="$WORK/restic/repo" RESTIC_PASSWORD=bench-password \
	RESTIC_CACHE_DIR="$WORK/restic/cache" RESTIC_PROGRESS_FPS=0.1
export BORG_REPO="$WORK/borg/repo" BORG_PASSPHRASE=bench-password BORG_BASE_DIR="$WORK/borg/home" \
	BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes \
	BORG_DISPLAY_PASSPHRASE=no
POOL="$WORK/rustack/pool"
KEY="$WORK/rustack/master-key"

declare -A REPO=([rustack]="$POOL" [restic]="$RESTIC_REPOSITORY" [borg]="$BORG_REPO")
declare -A IDS # "tool,step" -> id of that step's backup in the current run
RES="$WORK/results.tsv"
printf 'run\tstep\ttool\twall\ttool_wall\tsync_wall\tcpu\trss_kib\tadded\trepo\talloc\tfile_alloc\tcheck\n' >"$RES"

init_tool() {
	case "$1" in
	rustack)
		mkdir -p "$POOL"
		"$BIN" keygen --key-file "$KEY" >"$WORK/logs/rustack-keygen.log" 2>&1 || die "rb_module_rustack keygen failed: see $WORK/logs/rustack-keygen.log"
		;;
	restic)
		restic init >"$WORK/logs/restic-init.log" 2>&1 || die "restic init failed: see $WORK/logs/restic-init.log"
		;;
	borg)
		mkdir -p "$BORG_BASE_DIR"
		borg init --encryption=repokey-blake2 >"$WORK/logs/borg-init.log" 2>&1 || die "borg init failed: see $WORK/logs/borg-init.log"
		;;
	esac
}

# The command line of one step for one tool, into the array CMD.
step_cmd() { # step tool n
	local step=$1 tool=$2 n=$3
	case "$tool,$step" in
	rustack,*restore) CMD=("$BIN" -c /dev/null restore "${IDS[rustack,${RESTORE_OF[$step]}]}" --to-dir "$WORK/restore/rustack" --pool "$POOL" --key-file "$KEY") ;;
	restic,*restore) CMD=(restic restore "${IDS[restic,${RESTORE_OF[$step]}]}" --target "$WORK/restore/restic") ;;
	borg,*restore) CMD=(sh -c 'cd "$1" && exec borg extract --sparse "::$2"' sh "$WORK/restore/borg" "${IDS[borg,${RESTORE_OF[$step]}]}") ;;
	rustack,*)
		local type=incremental
		[ "$step" = first ] && type=full
		CMD=("$BIN" -c /dev/null image backup --pool "$POOL" --name bench --disk "vda=$SRC" --type "$type" --key-file "$KEY" --json
			${RB_COMPRESSION:+--compression "$RB_COMPRESSION"})
		;;
	restic,*) CMD=(restic backup --json "$SRC") ;;
	borg,*) CMD=(borg create --json --list "::b$n" "$SRC") ;;
	esac
}

du_apparent() { du -s --apparent-size --block-size=1 "$1" | cut -f1; }
du_alloc() { du -s --block-size=1 "$1" | cut -f1; }

# The id of a backup from the tool's --json output (file $2).
backup_id() { # tool file
	python3 - "$1" "$2" <<'EOF'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
text = open(path).read()
if tool == "restic":
    for line in text.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("message_type") == "summary":
            print(o["snapshot_id"]); sys.exit(0)
    sys.exit("no restic summary in " + path)
# rb_module_rustack: one JSON object; take the archive id field.
start = text.find("{")
o = json.loads(text[start:]) if start >= 0 else {}
for k in ("archive_id", "id", "archive", "ID", "ArchiveID"):
    v = o.get(k)
    if isinstance(v, str) and v:
        print(v); sys.exit(0)
    if isinstance(v, dict) and isinstance(v.get("id"), str):
        print(v["id"]); sys.exit(0)
sys.exit("no archive id in " + path)
EOF
}

# Whether the tool read the file's content (a check that no tool skipped it
# by its metadata): empty when it did, a note when it did not or cannot tell.
read_check() { # tool log-prefix
	case "$1" in
	rustack)
		python3 - "$2.out" <<'EOF' || echo "rb_module_rustack: no JSON summary"
import json, sys
text = open(sys.argv[1]).read()
o = json.loads(text[text.find("{"):])
if o.get("type") != o.get("requested_type"):
    print(f"stored as {o.get('type')}: {o.get('note', '')}")
EOF
		;;
	restic)
		python3 - "$2.out" "$IMG_BYTES" <<'EOF' || echo "restic: no summary"
import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("message_type") == "summary":
        if o.get("files_changed", 0) + o.get("files_new", 0) == 0:
            print("file not re-read (unchanged metadata)")
        elif o.get("total_bytes_processed") != int(sys.argv[2]):
            print(f"read {o.get('total_bytes_processed')} bytes")
        sys.exit(0)
sys.exit(1)
EOF
		;;
	borg) # --list prints "A path" (added), "M path" (modified, read) or "U path" (unchanged, not read)
		grep -qE "^[AM] $SRC\$" "$2.err" || echo "file not re-read ($(grep -E " $SRC\$" "$2.err" | cut -c1))"
		;;
	esac
}

run_step() { # run step tool n image
	local run=$1 step=$2 tool=$3 n=$4 image=$5 log="$WORK/logs/run$1-$3-$2"
	local restore=0
	[[ "$step" != *restore ]] || restore=1
	if [ "$restore" = 1 ]; then
		rm -rf "$WORK/restore/$tool"
		mkdir -p "$WORK/restore/$tool"
	else
		rm -f "$SRC"
		ln "$image" "$SRC"
		[ "$COLD_BACKUP" = 1 ] || cat "$SRC" >/dev/null
	fi
	local before=0
	[ "$restore" = 1 ] || before=$(du_apparent "${REPO[$tool]}")
	step_cmd "$step" "$tool" "$n"
	sync
	if [ "$restore" = 1 ] && [ "$WARM_RESTORE" = 0 ]; then
		echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || WARM_RESTORE=unavailable
	fi
	if [ "$restore" = 0 ] && [ "$COLD_BACKUP" = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || die "--cold-backup needs a writable /proc/sys/vm/drop_caches (root)"
	fi
	settle
	if ! /usr/bin/time -f '%e %U %S %M' -o "$log.time" -- "${CMD[@]}" >"$log.out" 2>"$log.err"; then
		echo "--- $tool $step failed: ${CMD[*]}" >&2
		tail -n 20 "$log.err" >&2
		die "$tool $step failed (logs: $log.out, $log.err)"
	fi
	local wall user sys rss cpu swall="" added="" repo="" alloc="" falloc="" check=""
	read -r wall user sys rss <"$log.time"
	cpu=$(python3 -c "print(f'{$user+$sys:.2f}')")
	if [ "$restore" = 1 ]; then
		local f
		case "$tool" in
		rustack) f="$WORK/restore/rustack/vda.img" ;;
		restic) f="$WORK/restore/restic$SRC" ;;
		borg) f="$WORK/restore/borg$SRC" ;;
		esac
		if [ -f "$f" ]; then
			# A restore is done when the image is on disk: fsync it for every
			# tool (rb_module_rustack already did; restic and borg do not).
			/usr/bin/time -f '%e' -o "$log.synctime" -- sync "$f" || die "sync $f failed"
			swall=$(tail -n1 "$log.synctime")
			local sum
			sum=$(sha256sum "$f" | cut -d' ' -f1)
			falloc=$(du_alloc "$f")
			if [ "$sum" = "$(cat "${image%.img}.sha256")" ]; then
				check="sha256 ok"
			else
				check="SHA256 MISMATCH"
				FAILED=1
			fi
		else
			check="restored image $f not found"
			FAILED=1
		fi
		# The restored files are deleted after the step, not here: freeing
		# gigabytes (discards on this file system) would slow the next tool.
	else
		if [ "$tool" = borg ]; then
			IDS[$tool,$step]=b$n
		elif [[ -n "${RESTORED[$step]:-}" ]]; then
			IDS[$tool,$step]=$(backup_id "$tool" "$log.out") || die "no backup id in $log.out"
		fi
		repo=$(du_apparent "${REPO[$tool]}")
		alloc=$(du_alloc "${REPO[$tool]}")
		added=$((repo - before))
		check=$(read_check "$tool" "$log")
	fi
	local total=$wall
	[ -z "$swall" ] || total=$(python3 -c "print(f'{$wall+$swall:.2f}')")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$step" "$tool" "$total" "$wall" "$swall" \
		"$cpu" "$rss" "$added" "$repo" "$alloc" "$falloc" "$check" >>"$RES"
	echo "run $run, $step, $tool: ${total} s${swall:+ (restore $wall s + fsync $swall s)}, CPU $cpu s${added:+, +$(mib "$added") MiB}${falloc:+, restored file uses $(mib "$falloc") MiB}${check:+, $check}" >&2
}

mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }

# The disk under WORK, as named in /proc/diskstats (empty when unknown).
DISK=$(basename "$(df --output=source "$WORK" | tail -n1)")
grep -qw "$DISK" /proc/diskstats || DISK=""

# settle waits until the disk under WORK has done no I/O for a whole second
# (at most 30 s), so a step does not start while writeback, journal commits
# or discards of the step before it still occupy the disk.
settle() {
	local prev="" cur
	[ -n "$DISK" ] || { sleep 1; return; }
	for _ in $(seq 60); do
		cur=$(awk -v d="$DISK" '$3 == d { print $4, $8 }' /proc/diskstats)
		[ "$cur" = "$prev" ] && return
		prev=$cur
		sleep 0.5
	done
	SETTLE_TIMEOUTS=$((SETTLE_TIMEOUTS + 1))
}
SETTLE_TIMEOUTS=0

FAILED=0
STEPS=(first unchanged scattered clustered restore)
[ "$IMAGE" = synthetic ] || STEPS=(first unchanged aged restore)
declare -A STEP_IMAGE=([first]=base [unchanged]=base [scattered]=scattered [clustered]=clustered [aged]=aged [restore]=base)
# RESTORE_OF: restore step -> the backup step it restores; RESTORED: the
# backup steps whose ids are kept for that.
declare -A RESTORE_OF=([restore]=first) RESTORED=([first]=1)
if [ "$CHAIN" -gt 0 ]; then
	STEPS=(first)
	for k in $(seq 1 "$CHAIN"); do
		STEPS+=("chain$k")
		STEP_IMAGE[chain$k]=chain-$k
	done
	STEPS+=(chainrestore)
	STEP_IMAGE[chainrestore]=chain-$CHAIN
	RESTORE_OF[chainrestore]=chain$CHAIN
	RESTORED[chain$CHAIN]=1
fi

T0=$(date +%s)
for run in $(seq 1 "$RUNS"); do
	if [ -e "$WORK/rustack" ] || [ -e "$WORK/restic" ] || [ -e "$WORK/borg" ] || [ -e "$WORK/restore" ]; then
		rm -rf "$WORK/rustack" "$WORK/restic" "$WORK/borg" "$WORK/restore"
		sync
		sleep 10 # let the freed space's discards settle before timing anything
	fi
	rm -rf "$SRC_DIR"
	mkdir -p "$SRC_DIR" "$WORK/restore"
	for t in "${TOOL_LIST[@]}"; do init_tool "$t"; done
	# Rotate the order per run, so no tool always goes first.
	order=()
	for i in "${!TOOL_LIST[@]}"; do
		order+=("${TOOL_LIST[$(((i + run - 1) % ${#TOOL_LIST[@]}))]}")
	done
	n=0
	for step in "${STEPS[@]}"; do
		n=$((n + 1))
		for t in "${order[@]}"; do
			run_step "$run" "$step" "$t" "$n" "$IMG/${STEP_IMAGE[$step]}.img"
		done
	done
	rm -rf "$WORK/restore"
done
T1=$(date +%s)

# --- report -------------------------------------------------------------------
ver_restic=$(restic version | awk '{print $2}')
ver_borg=$(borg --version | awk '{print $2}')
ver_go=$(go version | awk '{print $3}')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')

case "$WARM_RESTORE" in
0) RESTORE_CACHE="page cache dropped before every restore" ;;
1) RESTORE_CACHE="restores run with a warm page cache (--warm-restore)" ;;
*) RESTORE_CACHE="restores run with a warm page cache (drop_caches not writable here)" ;;
esac
BACKUP_CACHE="image read into the page cache before every backup"
[ "$COLD_BACKUP" = 0 ] || BACKUP_CACHE="page cache dropped before every backup (--cold-backup)"
export BENCH_RESTORE_CACHE="$RESTORE_CACHE" BENCH_BACKUP_CACHE="$BACKUP_CACHE" BENCH_CHAIN="$CHAIN"
export BENCH_IMAGE_DESC="$IMAGE_DESC" BENCH_RB_COMPRESSION="${RB_COMPRESSION:-default (zstd)}"
export BENCH_SIZE="$SIZE" BENCH_IMG_BYTES="$IMG_BYTES" BENCH_SEED="$SEED" BENCH_CMDLINE="$CMDLINE" \
	BENCH_RUNS="$RUNS" BENCH_TOOLS="$TOOLS" BENCH_SECONDS=$((T1 - T0)) BENCH_DATE="$(date -u +%Y-%m-%dT%H:%MZ)" \
	BENCH_MACHINE="$(nproc) cores ($cpu), $mem RAM, $fs file system under $WORK; load average after the run $(cut -d' ' -f1-3 /proc/loadavg)$(awk '/^some/ {sub("avg300=", "", $4); print ", I/O pressure (PSI some, 5 min) " $4 " %"}' /proc/pressure/io 2>/dev/null); disk never idle for 1 s before a step: $SETTLE_TIMEOUTS time(s)" \
	BENCH_VERSIONS="rb_module_rustack $VER_OURS ($ver_go), restic $ver_restic, borg $ver_borg"
report() { python3 "$ROOT/bench/report.py" "$RES"; }

report | tee ${OUT:+"$OUT"}
if [ "$KEEP" -eq 0 ]; then
	rm -rf "$WORK/rustack" "$WORK/restic" "$WORK/borg" "$WORK/restore" "$SRC_DIR"
fi
[ "$FAILED" -eq 0 ] || die "a restore did not reproduce the image (see the check column)"
