#!/usr/bin/env bash
# package_test.sh - builds the packages with scripts/package.sh and tries them
# on this machine as an administrator would (run as root; scripts/test.sh
# runs it as a step):
#   the binary in an empty chroot (no libc): --version and the demo;
#   dpkg -i the .deb: layout, modes, the /usr/bin link, man pages, bash
#   completion answered by the installed binary; rb_module_rustack -D,
#   --version, keygen, -t against the OpenStack harness (its credentials
#   written into the installed conffile) and the demo, from the installed path;
#   dpkg -i a rebuilt .deb of a higher version: the edited conffile is kept;
#   dpkg -r (the conffile stays), dpkg -P (nothing left but the master key
#   and the log, which policy keeps); the .rpm's file list, config flags,
#   requirements and scripts with rpm -qpl / -qp --scripts.
# The machine is restored at the end, also on failure: the package purged,
# and an /opt/rubackup that was there before put back as it was.
# Environment: OPENSTACK_HARNESS_DIR (default /tmp/openstack-harness);
# SKIP_HARNESS=1 skips the -t step (and says so).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PKG=rb-module-rustack
OPT=/opt/rubackup
T0=$SECONDS
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok    $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

if [ "$(id -u)" -ne 0 ]; then
    echo "package_test.sh installs a package: run it as root" >&2
    exit 1
fi
if dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null | grep -q 'installed'; then
    echo "$PKG is installed on this machine: this test would replace it; remove it first (dpkg -P $PKG)" >&2
    exit 1
fi
need_debs rpm:rpm readelf:binutils || exit 1
need_go || exit 1
# bash-completion's helpers (_get_comp_words_by_ref), which the completion script uses.
if [ ! -r /usr/share/bash-completion/bash_completion ]; then
    echo "installing Debian packages: bash-completion"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bash-completion >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bash-completion >/dev/null; } || exit 1
fi

WORK=$(mktemp -d /tmp/rb-package-test.XXXXXX)
SAVED=""
restore_machine() {
    dpkg -P "$PKG" >/dev/null 2>&1
    rm -rf "$OPT"
    if [ -n "$SAVED" ]; then
        mv "$SAVED" "$OPT"
    fi
    rm -rf "$WORK"
}
trap restore_machine EXIT
trap 'exit 130' INT TERM
# Start from no /opt/rubackup (tests and the packages of other modules may
# have made one); it is put back at the end.
if [ -e "$OPT" ]; then
    SAVED=$WORK/opt-rubackup.saved
    mv "$OPT" "$SAVED" || exit 1
fi

echo "== tools/mkpkg (a module of its own): go mod tidy -diff, go vet, staticcheck, go test"
if (cd tools/mkpkg && go mod tidy -diff && go vet ./... && "$HOME/go/bin/staticcheck" ./... && go test -count=1 ./...); then
    ok "tools/mkpkg"
else
    fail "tools/mkpkg: go mod tidy -diff, go vet, staticcheck or go test"
fi

echo "== build (scripts/package.sh)"
OUT=$WORK/v1 ./scripts/package.sh >"$WORK/package1.log" 2>&1 || { cat "$WORK/package1.log"; exit 1; }
tail -n 3 "$WORK/package1.log"
DEB1=$(ls "$WORK"/v1/*.deb)
RPM1=$(ls "$WORK"/v1/*.rpm)
V1=$(dpkg-deb -f "$DEB1" Version)
V1=${V1%-1}
BUILD_S=$((SECONDS - T0))

echo "== the static binary in an empty chroot (no libc, no /lib, no /etc)"
mkdir -p "$WORK/chroot/tmp"
chmod 1777 "$WORK/chroot/tmp"
cp "$WORK/v1/rb_module_rustack" "$WORK/chroot/"
check "chroot: --version" sh -c "chroot '$WORK/chroot' /rb_module_rustack --version | grep -qx 'rb_module_rustack $V1'"
check "chroot: demo" sh -c "chroot '$WORK/chroot' /rb_module_rustack demo --boot-mib 8 --data-mib 4 >'$WORK/chroot-demo.out' 2>&1"

echo "== dpkg -i $(basename "$DEB1")"
dpkg -i "$DEB1" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; exit 1; }
BIN=/usr/bin/rb_module_rustack
check "/usr/bin/rb_module_rustack -> $OPT/modules/rb_module_rustack" \
    test "$(readlink -f "$(command -v rb_module_rustack)")" = "$OPT/modules/rb_module_rustack"
modes() { stat -c '%a %U %n' "$@" 2>&1 | tr '\n' ';'; }
want="600 root $OPT/etc/rb_module_rustack.conf;700 root $OPT/keys;700 root $OPT/var/rb_module_rustack;755 root $OPT/log;755 root $OPT/modules/rb_module_rustack;"
got=$(modes "$OPT/etc/rb_module_rustack.conf" "$OPT/keys" "$OPT/var/rb_module_rustack" "$OPT/log" "$OPT/modules/rb_module_rustack")
check "modes $got" test "$got" = "$want"
check "conffile registered" grep -qx "$OPT/etc/rb_module_rustack.conf" "/var/lib/dpkg/info/$PKG.conffiles"
check "no dependencies" test -z "$(dpkg-deb -f "$DEB1" Depends Pre-Depends Recommends)"
check "suggests (for guest scripts): $(dpkg-deb -f "$DEB1" Suggests)" test "$(dpkg-deb -f "$DEB1" Suggests)" = "libvirt-clients, openssh-client"
check "copyright in /usr/share/doc/$PKG" grep -q '^Files: (compiled in) Go module github.com/spf13/cobra' "/usr/share/doc/$PKG/copyright"

out=$("$BIN" -D 2>&1)
check "-D exits 0, silent" test $? -eq 0 -a -z "$out"
out=$("$BIN" --version)
check "--version: $(echo "$out" | head -n 1)" test "$(echo "$out" | head -n 1)" = "rb_module_rustack $V1"
check "version = --version" test "$("$BIN" version)" = "$out"

# One man page per command of --help (and rb_module_rustack(8)), readable by man's formatter.
cmds=$("$BIN" --help | awk '/^Available Commands:/{f=1;next} /^$/{f=0} f{print $1}' | grep -vx help)
missing=""
for c in $cmds; do
    [ -s "/usr/share/man/man8/rb_module_rustack-$c.8.gz" ] || missing="$missing $c"
done
check "a man page for each of $(echo $cmds | wc -w) commands${missing:+ (missing:$missing)}" test -z "$missing"
check "rb_module_rustack.8.gz is a section 8 page" sh -c "zcat /usr/share/man/man8/rb_module_rustack.8.gz | grep -q '^.TH \"RB_MODULE_RUSTACK\" \"8\"'"
if command -v man >/dev/null 2>&1; then
    check "man 8 rb_module_rustack-backup" sh -c 'MANPAGER=cat man 8 rb_module_rustack-backup 2>/dev/null | grep -q -- "--vm"'
fi
# bash completion of the installed package: the function asks the binary.
comp=$(bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/rb_module_rustack
    COMP_WORDS=(rb_module_rustack ba); COMP_CWORD=1; COMP_LINE="rb_module_rustack ba"; COMP_POINT=${#COMP_LINE}
    __start_rb_module_rustack rb_module_rustack ba rb_module_rustack; echo "${COMPREPLY[*]}"' 2>"$WORK/comp.err")
check "bash completion of 'rb_module_rustack ba': $comp" test "$comp" = backup
check "zsh and fish completion" test -s /usr/share/zsh/vendor-completions/_rb_module_rustack -a -s /usr/share/fish/vendor_completions.d/rb_module_rustack.fish

echo "== keygen, -t, demo from the installed path"
check "keygen into $OPT/keys" sh -c "$BIN keygen >/dev/null && test \"\$(stat -c %a $OPT/keys/master-key)\" = 600"
CONF=$OPT/etc/rb_module_rustack.conf
env_file=${OPENSTACK_HARNESS_DIR:-/tmp/openstack-harness}/credentials.env
if [ "${SKIP_HARNESS:-0}" = 1 ]; then
    echo "SKIP  -t against the harness (SKIP_HARNESS=1)"
    echo "# edited by package_test.sh" >>"$CONF"
elif [ ! -r "$env_file" ]; then
    fail "-t: no $env_file (start ../shared/openstack/up.sh)"
else
    (
        set -a
        # shellcheck disable=SC1090
        . "$env_file"
        {
            echo "# harness, written by package_test.sh"
            echo "url $OS_AUTH_URL"
            echo "username $OS_USERNAME"
            echo "password $OS_PASSWORD"
            echo "domain $OS_USER_DOMAIN_NAME"
            echo "project_id $OS_PROJECT_ID"
            echo "rubackup-vm-id $OS_HARNESS_PROXY_ID"
            echo "admin_name $OS_HARNESS_PROJECT_ADMIN_USER"
            echo "admin_password $OS_HARNESS_PROJECT_ADMIN_PASSWORD"
        } >>"$CONF"
    )
    "$BIN" -t >"$WORK/t.out" 2>&1
    rc=$?
    sed 's/^/      /' "$WORK/t.out"
    check "-t with the installed conffile: exit $rc" test $rc -eq 0
    check "-t wrote the log $OPT/log/RuBackup.log" test -s "$OPT/log/RuBackup.log"
fi
SUM=$(md5sum <"$CONF")
(cd "$WORK" && "$BIN" demo --boot-mib 16 --data-mib 8 >"$WORK/demo.out" 2>&1)
rc=$?
check "demo: exit $rc, $(tail -n 1 "$WORK/demo.out")" test $rc -eq 0

echo "== upgrade to a rebuilt package"
V2=$V1+rebuild
VERSION=$V2 OUT=$WORK/v2 ./scripts/package.sh >"$WORK/package2.log" 2>&1 || { cat "$WORK/package2.log"; exit 1; }
DEB2=$(ls "$WORK"/v2/*.deb)
check "dpkg says $V2 > $V1" dpkg --compare-versions "$V2-1" gt "$V1-1"
dpkg -i "$DEB2" >"$WORK/dpkg2.log" 2>&1 </dev/null
rc=$?
check "dpkg -i $(basename "$DEB2"): exit $rc, no prompt" test $rc -eq 0
check "installed version $(dpkg-query -W -f '${Version}' "$PKG")" test "$(dpkg-query -W -f '${Version}' "$PKG")" = "$V2-1"
check "the binary says $V2" test "$("$BIN" --version | head -n 1)" = "rb_module_rustack $V2"
check "the edited conffile is kept (same content, mode 600)" test "$(md5sum <"$CONF")" = "$SUM" -a "$(stat -c %a "$CONF")" = 600
check "the master key is kept" test -s "$OPT/keys/master-key"

echo "== remove, purge"
dpkg -L "$PKG" >"$WORK/files"
dpkg -r "$PKG" >"$WORK/dpkg3.log" 2>&1 || { cat "$WORK/dpkg3.log"; fail "dpkg -r"; }
check "removed: no binary, no /usr/bin link" test ! -e "$OPT/modules/rb_module_rustack" -a ! -L /usr/bin/rb_module_rustack
check "removed: the conffile stays (policy)" test "$(md5sum <"$CONF" 2>/dev/null)" = "$SUM"
dpkg -P "$PKG" >"$WORK/dpkg4.log" 2>&1 || { cat "$WORK/dpkg4.log"; fail "dpkg -P"; }
check "purge says the master key was kept" grep -q "kept $OPT/keys/master-key" "$WORK/dpkg4.log"
check "purged: dpkg knows no $PKG" sh -c "! dpkg-query -W $PKG >/dev/null 2>&1"
left=""
while read -r f; do
    case "$f" in /. | /opt | /usr | /usr/bin | /usr/share | /usr/share/* ) [ -d "$f" ] && continue ;; esac
    case "$f" in "$OPT" | "$OPT/keys" | "$OPT/log") continue ;; esac
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$WORK/files"
check "purged: no packaged file left${left:+ (left:$left)}" test -z "$left"
# What policy keeps: the master key, and the log (other RuBackup components
# share it; keygen and -t write it).
rest=$(cd / && find "${OPT#/}" | sort | grep -vxE 'opt/rubackup(/keys(/master-key)?|/log(/RuBackup\.log)?)?' | tr '\n' ' ')
check "purged: $OPT holds only the master key and the log${rest:+ (also: $rest)}" test -z "$rest" -a -s "$OPT/keys/master-key"

echo "== the .rpm"
rpm -qpl "$RPM1" 2>/dev/null | sort >"$WORK/rpm.list"
dpkg-deb -c "$DEB1" | awk '{print $6}' | sed 's|^\./|/|; s|/$||; s|/usr/share/zsh/vendor-completions|/usr/share/zsh/site-functions|' |
    grep -v '^$' | sort >"$WORK/deb.list"
# The .deb lists every parent folder; the .rpm only the folders it owns.
missing=$(comm -23 "$WORK/rpm.list" "$WORK/deb.list" | tr '\n' ' ')
extra=$(comm -13 "$WORK/rpm.list" "$WORK/deb.list" | while read -r f; do grep -q "^$f/" "$WORK/rpm.list" || echo "$f"; done | tr '\n' ' ')
check "rpm -qpl: $(wc -l <"$WORK/rpm.list") paths, the .deb's files${missing:+ (only in the rpm: $missing)}${extra:+ (only in the deb: $extra)}" test -z "$missing$extra"
scripts=$(rpm -qp --scripts "$RPM1" 2>/dev/null)
check "rpm -qp --scripts: none (an erase leaves the key, the log and the state as rpm does)" test -z "$scripts"
flags=$(rpm -qp --queryformat '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILENAMES}\n]' "$RPM1" 2>/dev/null | grep " $OPT/etc/rb_module_rustack.conf$")
check "rpm: $flags" test "$flags" = "cn -rw------- $OPT/etc/rb_module_rustack.conf"
reqs=$(rpm -qp --requires "$RPM1" 2>/dev/null | grep -v '^rpmlib(' | tr '\n' ' ')
check "rpm requires nothing but rpmlib features${reqs:+ (requires: $reqs)}" test -z "$reqs"
sugg=$(rpm -qp --suggests "$RPM1" 2>/dev/null | tr '\n' ' ')
check "rpm suggests $sugg" test "$sugg" = "libvirt-client openssh-clients "
keys=$(rpm -qp --queryformat '[%{FILEMODES:perms} %{FILENAMES}\n]' "$RPM1" 2>/dev/null | grep -E " $OPT/(keys|var/rb_module_rustack)$" | tr '\n' ';')
check "rpm: $keys" test "$keys" = "drwx------ $OPT/keys;drwx------ $OPT/var/rb_module_rustack;"

echo
echo "package test: build ${BUILD_S}s, total $((SECONDS - T0))s; .deb $(($(stat -c %s "$DEB1") / 1024)) KiB, .rpm $(($(stat -c %s "$RPM1") / 1024)) KiB"
if [ $FAILS -ne 0 ]; then
    echo "package test: $FAILS check(s) FAILED"
    exit 1
fi
echo "package test: every check passed"
