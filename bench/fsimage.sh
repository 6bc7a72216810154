#!/usr/bin/env bash
# bench/fsimage.sh: a real file-system image for the benchmarks, built from
# this machine's own files, and an aged copy of it.
#
#   bench/fsimage.sh --dir DIR [--size 3G] [--data 1400M] [--seed N]
#
#   --dir    where base.img and aged.img (and their .sha256) are written;
#            an existing pair built with the same arguments is reused
#   --size   size of the image (default 3G)
#   --data   how much of /usr goes in (default 1400M): whole files from
#            /usr/bin, /usr/share and /usr/lib in sorted path order until
#            the budget is spent (executables, libraries, documentation,
#            locales: what the root disk of a VM holds)
#   --seed   seed of the aging (default 1)
#
# base.img is `mke2fs -t ext4 -d` over those files (an image of a freshly
# installed system). aged.img is a copy of it, mounted through a loop device
# and aged the way a running system changes its disk between two nightly
# backups: 2 % of the files (at least one 4 KiB block each) rewritten in
# place at 4 KiB-aligned offsets, 0.5 % appended to, 0.5 % deleted, and
# 20 MiB of new files (copies of existing ones with a changed header), all
# chosen by a seeded generator. Needs root (loop mount) and e2fsprogs.
set -euo pipefail

DIR=""
SIZE=3G
DATA=1400M
SEED=1
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "fsimage.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	--data) DATA=${2:?--data needs a value}; shift 2 ;;
	--seed) SEED=${2:?--seed needs a number}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument $1" ;;
	esac
done
[ -n "$DIR" ] || { usage >&2; die "--dir is required"; }
[ "$(id -u)" -eq 0 ] || die "needs root: the aged image is changed through a loop mount"
command -v mke2fs >/dev/null || die "needs mke2fs (apt-get install e2fsprogs)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
stamp="size=$SIZE data=$DATA seed=$SEED script=$(sha256sum "$0" | cut -c1-16)"
if [ "$(cat "$DIR/stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$DIR/base.img" ] && [ -f "$DIR/aged.img" ]; then
	echo "reusing the file-system images in $DIR" >&2
	exit 0
fi
rm -f "$DIR/base.img" "$DIR/aged.img" "$DIR"/*.sha256 "$DIR/stamp"

budget=$(numfmt --from=iec "$DATA")
STAGE="$DIR/stage"
MNT="$DIR/mnt"
LOOP=""
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || true; fi
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
	rm -rf "$STAGE"
	rmdir "$MNT" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$STAGE"
mkdir -p "$STAGE" "$MNT"

# Hard links into the staging tree when /usr is on the same file system (no
# data copied), copies otherwise.
echo "choosing $DATA of files from /usr" >&2
find /usr/bin /usr/share /usr/lib -xdev -type f -size +0 -printf '%s\t%p\n' 2>/dev/null | LC_ALL=C sort -t$'\t' -k2,2 >"$DIR/all.txt" || true
awk -F'\t' -v b="$budget" '{ if (t + $1 > b) exit; t += $1; print $2 }' "$DIR/all.txt" >"$DIR/files.txt"
rm -f "$DIR/all.txt"
n=0
while IFS= read -r f; do
	d="$STAGE$(dirname "$f")"
	mkdir -p "$d"
	ln "$f" "$d/" 2>/dev/null || cp -p "$f" "$d/"
	n=$((n + 1))
done <"$DIR/files.txt"
echo "$n files, $(du -sh --apparent-size "$STAGE" | cut -f1) of data" >&2

echo "mke2fs -t ext4 -d over them into a $SIZE image" >&2
mke2fs -q -F -t ext4 -L rbbench -E root_owner=0:0 -d "$STAGE" "$DIR/base.img" "$SIZE"
rm -rf "$STAGE"

cp --sparse=always "$DIR/base.img" "$DIR/aged.img"
LOOP=$(losetup -f --show "$DIR/aged.img")
mount -t ext4 "$LOOP" "$MNT"
python3 - "$MNT" "$SEED" <<'EOF'
import os, random, sys
root, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
files = []
for d, _, names in os.walk(root):
    if "lost+found" in d:
        continue
    for n in names:
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0:
            files.append(p)
files.sort()
rng.shuffle(files)
k = len(files)
rewrite, append, delete = files[: k // 50], files[k // 50 : k // 50 + k // 200], files[k // 50 + k // 200 : k // 50 + k // 100]
changed = 0
for p in rewrite:
    size = os.path.getsize(p)
    blocks = max(1, (size + 4095) // 4096)
    with open(p, "r+b") as f:
        for _ in range(max(1, blocks // 16)):  # about 6 % of a file's blocks, at least one
            b = rng.randrange(blocks)
            f.seek(b * 4096)
            old = f.read(4096)
            new = bytes((x + 1) & 0xFF for x in old[:64]) + old[64:]
            f.seek(b * 4096)
            f.write(new)
            changed += len(new)
for p in append:
    with open(p, "ab") as f:
        data = rng.randbytes(rng.randrange(512, 16384))
        f.write(data)
        changed += len(data)
for p in delete:
    os.remove(p)
new = 0
i = 0
while new < 20 << 20 and i < len(files):
    src = files[-1 - i]
    i += 1
    if not os.path.exists(src):
        continue
    with open(src, "rb") as f:
        data = f.read(4 << 20)
    with open(os.path.join(root, f"new-{i:05d}"), "wb") as f:
        f.write(b"aged copy %d\n" % i + data)
    new += len(data)
print(f"aged: {len(rewrite)} files rewritten in place, {len(append)} appended to, {len(delete)} deleted, "
      f"{new >> 20} MiB of new files; {changed >> 10} KiB rewritten or appended", file=sys.stderr)
EOF
umount "$MNT"
losetup -d "$LOOP"
LOOP=""
for f in base aged; do
	sha256sum "$DIR/$f.img" | cut -d' ' -f1 >"$DIR/$f.sha256"
done
echo "$stamp" >"$DIR/stamp"
echo "base.img: $(du -h --apparent-size "$DIR/base.img" | cut -f1), $(du -h "$DIR/base.img" | cut -f1) allocated" >&2
