#!/bin/sh
# mypy (Debian's python3-mypy) on the package in strict mode, and on the
# agent example and the tests: the type hints the package ships (py.typed)
# hold. Skipped without mypy, except under CI, where scripts/test.sh
# installs it.
#   check_types.sh PYTHON SOURCE_DIR CACHE_DIR
set -eu
python=$1
src=$2
cache=$3
if ! "$python" -m mypy --version >/dev/null 2>&1; then
  [ -z "${CI:-}" ] || { echo "mypy is missing (package python3-mypy; scripts/test.sh installs it)" >&2; exit 1; }
  echo "mypy is missing (package python3-mypy); skipped"
  exit 77
fi
cd "$src/python"
"$python" -m mypy --strict --cache-dir "$cache" kanari "$src/examples/python/agent_runner.py"
"$python" -m mypy --cache-dir "$cache" tests
