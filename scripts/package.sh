#!/usr/bin/env bash
# package.sh - builds the static binary dist/rb_module_rustack and from it
# dist/rb-module-rustack_VERSION-1_ARCH.deb and dist/rb-module-rustack-VERSION-1.ARCH.rpm.
#
#   go build -trimpath, static: with cgo against musl (zstd's C encoder) for
#   this machine's architecture, CGO_ENABLED=0 for another or with CGO=0;
#   version, commit and build date stamped in;
#   proves the binary static (ldd: "not a dynamic executable"; readelf: no
#   program interpreter, no dynamic section, no symbol version requirement
#   such as GLIBC_2.34); writes the man pages and bash/zsh/fish completion
#   from the command tree (rb_module_rustack gen-docs), the copyright file
#   (the module's and the license of every Go module compiled in), and the
#   packages with tools/mkpkg (the nfpm library) from packaging/nfpm.yaml.
#
# Environment: VERSION (default: a tag v* on HEAD, else BASE~gitDATE.COMMIT,
# BASE from cmd/rb_module_rustack/root.go), GOARCH (default: this machine's),
# CGO (default 1; 0: build without cgo),
# OUT (default dist), MAINTAINER, SOURCE_DATE_EPOCH (default: the commit's
# time, or now when the tree has changes). Details: docs/packaging.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

need_debs git:git readelf:binutils
need_go

OUT=${OUT:-$ROOT/dist}
GOARCH=${GOARCH:-$(go env GOARCH)}
MAINTAINER=${MAINTAINER:-"rb_module_rustack maintainers <root@localhost>"}
COMMIT=unknown
DIRTY=0
if git rev-parse --git-dir >/dev/null 2>&1; then
    COMMIT=$(git rev-parse HEAD)
    [ -z "$(git status --porcelain --untracked-files=no)" ] || { DIRTY=1; COMMIT=$COMMIT-dirty; }
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    if [ "$COMMIT" != unknown ] && [ $DIRTY = 0 ]; then
        SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
    else
        SOURCE_DATE_EPOCH=$(date +%s)
    fi
fi
BUILD_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if [ -z "${VERSION:-}" ]; then
    tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || true)
    if [ -n "$tag" ]; then
        VERSION=${tag#v}
    else
        base=$(sed -n 's/^var version = "\([0-9.]*\).*"$/\1/p' cmd/rb_module_rustack/root.go)
        VERSION=${base:-0.0.0}~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S).${COMMIT:0:12}
        VERSION=${VERSION%-dirty}
        [ $DIRTY = 1 ] && VERSION=$VERSION.dirty
    fi
fi
case "$VERSION" in
    [0-9]*) ;;
    *) echo "VERSION $VERSION: must start with a digit" >&2; exit 2 ;;
esac
export VERSION GOARCH MAINTAINER SOURCE_DATE_EPOCH

STAGE=$(mktemp -d /tmp/rb-package.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
export STAGE
mkdir -p "$OUT"

# zstd's C encoder (cgo) when building for this machine's architecture:
# linked statically against musl (MIT), not glibc (LGPL), so the binary
# still needs no libc. A cross build (no musl cross compiler here) or CGO=0
# stays pure Go, with the slower Go zstd encoder.
CGO=${CGO:-1}
if [ "$CGO" != 0 ] && [ "$GOARCH" != "$(go env GOHOSTARCH)" ]; then
    echo "cross build for $GOARCH: without cgo (the Go zstd encoder)"
    CGO=0
fi
LDFLAGS="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.buildDate=$BUILD_DATE"
if [ "$CGO" != 0 ]; then
    need_debs musl-gcc:musl-tools
    echo "building rb_module_rustack $VERSION ($COMMIT, $BUILD_DATE) for linux/$GOARCH, static, cgo against musl"
    CC=musl-gcc CGO_ENABLED=1 GOOS=linux go build -trimpath -buildvcs=false -tags netgo,osusergo \
        -ldflags "$LDFLAGS -linkmode external -extldflags -static" \
        -o "$STAGE/rb_module_rustack" ./cmd/rb_module_rustack
else
    echo "building rb_module_rustack $VERSION ($COMMIT, $BUILD_DATE) for linux/$GOARCH, static, without cgo"
    CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" \
        -o "$STAGE/rb_module_rustack" ./cmd/rb_module_rustack
fi

# The proofs: no program interpreter (ld-linux), no dynamic section (no
# shared library), no symbol version requirement (no GLIBC_x.y).
bin=$STAGE/rb_module_rustack
if [ "$GOARCH" = "$(go env GOHOSTARCH)" ]; then
    ldd_out=$(ldd "$bin" 2>&1 || true)
    case "$ldd_out" in
        *"not a dynamic executable"*) echo "ldd: $(echo $ldd_out)" ;;
        *) echo "ldd does not call $bin static:"$'\n'"$ldd_out" >&2; exit 1 ;;
    esac
fi
if readelf -lW "$bin" | grep -q 'INTERP'; then
    echo "$bin asks for a program interpreter:" >&2; readelf -lW "$bin" | grep -A1 INTERP >&2; exit 1
fi
dyn=$(readelf -dW "$bin")
[ "$dyn" = "" ] || [[ "$dyn" == *"There is no dynamic section"* ]] || { echo "$bin has a dynamic section:"$'\n'"$dyn" >&2; exit 1; }
ver=$(readelf -VW "$bin")
if [[ "$ver" == *GLIBC* ]] || [[ "$ver" != *"No version information found"* ]]; then
    echo "$bin requires symbol versions:"$'\n'"$ver" >&2; exit 1
fi
echo "readelf: no program interpreter, no dynamic section, no symbol version requirement (no GLIBC_*)"
if [ "$GOARCH" = "$(go env GOHOSTARCH)" ]; then
    "$bin" --version
    if [ "$CGO" != 0 ] && ! "$bin" version | grep -q '^zstd .*C library'; then
        echo "$bin was built with cgo but does not use zstd's C encoder:" >&2; "$bin" version >&2; exit 1
    fi
fi

# Man pages and completion scripts from the command tree.
if [ "$GOARCH" = "$(go env GOHOSTARCH)" ]; then
    gendocs=$bin
else
    gendocs=$STAGE/gendocs
    go build -o "$gendocs" -ldflags "-X main.version=$VERSION -X main.buildDate=$BUILD_DATE" ./cmd/rb_module_rustack
fi
"$gendocs" gen-docs --man "$STAGE/man" --completion "$STAGE/completion"
gzip -9n "$STAGE"/man/*.8
echo "$(ls "$STAGE"/man | wc -l) man pages, completion for bash, zsh and fish"

# The copyright file: the module's own terms, then the license of every Go
# module compiled into the binary (a static binary carries them all).
{
    cat <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rb_module_rustack
Comment: /opt/rubackup/modules/rb_module_rustack is one static Go binary. It
 contains the Go standard library and the Go modules listed below; each one's
 license text follows its stanza.

Files: *
Copyright: the rb_module_rustack authors
License: custom
 The authors have not published rb_module_rustack under a public license;
 until they do, all rights are reserved and the terms of use are those of the
 agreement under which it was received.
TXT
    echo
    echo "Files: (compiled in) Go standard library $(go env GOVERSION)"
    echo "License: BSD-3-Clause"
    sed 's/^$/./; s/^/ /' "$(go env GOROOT)/LICENSE"
    if [ "$CGO" != 0 ]; then
        echo
        echo "Files: (compiled in) musl libc $(dpkg-query -W -f '${Version}' musl-dev 2>/dev/null || echo '(version unknown)'), Debian's musl-dev"
        echo "License: see below (MIT for the library; Debian's copyright file of musl-dev)"
        sed 's/^[[:space:]]*$/./; s/^/ /' /usr/share/doc/musl-dev/copyright
    fi
    CGO_ENABLED=$([ "$CGO" != 0 ] && echo 1 || echo 0) GOOS=linux go list -deps -tags netgo,osusergo -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/rb_module_rustack |
        sort -u | while read -r path modver dir; do
            echo
            echo "Files: (compiled in) Go module $path $modver"
            lic=$(find "$dir" -maxdepth 1 -type f \( -iname 'LICEN[CS]E*' -o -iname 'COPYING*' -o -iname 'NOTICE*' \) | sort)
            if [ -z "$lic" ]; then
                echo "License: see the module's source"
                continue
            fi
            echo "License: see below"
            for f in $lic; do
                echo " ---- $(basename "$f")"
                sed 's/^[[:space:]]*$/./; s/^/ /' "$f"
            done
        done
} >"$STAGE/copyright"

echo "packaging with tools/mkpkg (nfpm)"
(cd tools/mkpkg && go build -o "$STAGE/mkpkg" .)
rm -f "$OUT"/rb-module-rustack[_-]*.deb "$OUT"/rb-module-rustack[_-]*.rpm
cp "$bin" "$OUT/rb_module_rustack"
pkgs=$("$STAGE/mkpkg" -config packaging/nfpm.yaml -out "$OUT" deb rpm)
echo
for f in "$OUT/rb_module_rustack" $pkgs; do
    printf '%-60s %8d KiB\n' "$f" $(( $(stat -c %s "$f") / 1024 ))
done
