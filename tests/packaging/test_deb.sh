#!/usr/bin/env bash
# `cpack -G DEB` builds a .deb with the binary, library, header, Python
# package, man page and completions under /usr, with sane metadata and the runtime libraries as
# dependencies (dpkg-shlibdeps), and the unpacked binary runs.
#   test_deb.sh BUILD_DIR CPACK
set -euo pipefail
build=$1
cpack=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v dpkg-shlibdeps >/dev/null; then
  [ -z "${CI:-}" ] || { echo "dpkg-shlibdeps is missing (package dpkg-dev; scripts/test.sh installs it)" >&2; exit 1; }
  echo "dpkg-shlibdeps is missing (package dpkg-dev); skipped"
  exit 77
fi
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; exit 1; }
debs=("$work"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "cpack made no single .deb:" >&2; ls -l "$work/out" >&2; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

dpkg-deb -I "$deb" >"$work/info"
cat "$work/info"
field() { sed -n "s/^ $1: //p" "$work/info"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(field Package)" = kanari ] || fail "Package is '$(field Package)'"
version=$("$build/cli/kanari" --version | awk '{ print $2 }')
[ "$(field Version)" = "$version" ] || fail "Version '$(field Version)' is not $version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture '$(field Architecture)'"
field Maintainer | grep -qE '^[^<]+ <[^@>]+@[^>]+>$' || fail "Maintainer '$(field Maintainer)' is not 'Name <email>'"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
packages=$(echo "$depends" | tr ',' '\n' | awk '{ print $1 }')
for lib in libc6 libstdc++6 libsqlite3-0 libssl3; do
  echo "$packages" | grep -qxF "$lib" || fail "Depends '$depends' lacks $lib"
done

# The path column (a symlink's line goes on with " -> target").
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/files"
for f in /usr/bin/kanari /usr/share/man/man1/kanari.1 /usr/share/bash-completion/completions/kanari \
         /usr/share/zsh/site-functions/_kanari /usr/include/kanari/kanari.h; do
  grep -qx "$f" "$work/files" || fail "$f is not in the package"
done
# The SONAME link of ABI 1 (kanari.h's KANARI_ABI_VERSION).
grep -qE '^/usr/lib/(.*/)?libkanari\.so\.1$' "$work/files" || fail "libkanari.so.1 is not in the package"
grep -q "$build" "$work/files" && fail "the package holds build paths"
# The Python package, where Debian's python3 imports it from (docs/python.md).
pydir=$(sed -n 's|^\(/usr/lib/python3[^/]*/dist-packages\)/kanari/__init__\.py$|\1|p' "$work/files")
[ -n "$pydir" ] || fail "the Python package kanari is not in the package"
grep -qx "$pydir/kanari/_paths.py" "$work/files" || fail "kanari/_paths.py is not in the package"

# Unpacked anywhere, the binary finds its library and works.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/kanari" --version
"$work/root/usr/bin/kanari" --state "$work/state" init -q
"$work/root/usr/bin/kanari" generate bash | cmp - "$work/root/usr/share/bash-completion/completions/kanari"
grep -q "$build" "$work/root$pydir/kanari/_paths.py" && fail "kanari/_paths.py holds a build path"
if [ -x /usr/bin/python3 ]; then
  # Unpacked anywhere, the Python package finds the package's library.
  env -u KANARI_LIBRARY PYTHONPATH="$work/root$pydir" /usr/bin/python3 -s -c '
import os, sys, kanari
from kanari import _lib
lib = _lib.load()
assert os.path.realpath(lib._name).startswith(os.path.realpath(sys.argv[1]) + "/"), lib._name
with kanari.Store(sys.argv[2]) as store:
    assert store.evaluate().verdict == "NO_CANARY"
print("python3 imports kanari", kanari.library_version(), "from the package")' "$work/root" "$work/state"
fi
echo "the .deb is complete and its kanari runs"
