#!/bin/sh
# `cmake --install` into a temporary prefix: Debian's python3 imports the
# installed package, and the package loads the installed libkanari.so.1 on
# its own (no KANARI_LIBRARY), and works on a store the installed CLI made.
#   test_install.sh BUILD_DIR CMAKE PYTHON PYTHON_INSTALL_DIR
set -eu
build=$1
cmake=$2
python=$3
pydir=$4
case $pydir in
  /*) echo "KANARI_PYTHON_INSTALL_DIR is absolute ($pydir): not installing there; skipped"; exit 77 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

# The default directory is one Debian's python3 imports from, for /usr/local
# (the default prefix) or /usr.
"$python" -c 'import sys; d = sys.argv[1]; sys.exit(0 if "/usr/local/" + d in sys.path or "/usr/" + d in sys.path else
  "neither /usr/local/%s nor /usr/%s is on sys.path: %s" % (d, d, sys.path))' "$pydir"

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
site=$prefix/$pydir
for f in __init__.py _lib.py _store.py _types.py _errors.py _paths.py py.typed; do
  [ -f "$site/kanari/$f" ] || { echo "not installed: $site/kanari/$f" >&2; cat "$work/install.log" >&2; exit 1; }
done
"$prefix/bin/kanari" --state "$work/state" init -q
printf 'hello from the installed package\n' >"$work/p.md"
"$prefix/bin/kanari" --state "$work/state" version add --prompt "system.md=$work/p.md" -q

# Only what was installed: no KANARI_LIBRARY, no source tree on the path.
cd "$work"
env -u KANARI_LIBRARY PYTHONPATH="$site" "$python" -s - "$site" "$prefix" "$work/state" <<'PY'
import os, sys
site, prefix, state = sys.argv[1:]
import kanari
from kanari import _lib, _paths
assert os.path.dirname(kanari.__file__) == os.path.join(site, "kanari"), kanari.__file__
lib = _lib.load()
assert os.path.realpath(lib._name) == os.path.realpath(_paths.LIBRARY), (lib._name, _paths.LIBRARY)
assert os.path.realpath(_paths.LIBRARY).startswith(os.path.realpath(prefix) + "/"), _paths.LIBRARY
print("libkanari", kanari.library_version(), "from", _paths.LIBRARY)
with kanari.Store(state) as store:
    p = store.get_prompt("system.md", key="user-1")
    assert p.text == "hello from the installed package\n", p
    try:
        store.route("")
        raise SystemExit("an empty key was accepted")
    except kanari.UsageError as e:
        assert e.status == 2 and e.message
PY
# Moved elsewhere (as a .deb unpacked anywhere), it still finds its library.
mv "$prefix" "$work/moved"
env -u KANARI_LIBRARY PYTHONPATH="$work/moved/$pydir" "$python" -s -c \
  'import kanari; print("moved:", kanari.library_version())'
echo "the installed package imports and loads the installed library"
