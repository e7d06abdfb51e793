# Shared set-up for scripts/*.sh: install missing Debian packages (quietly,
# only when missing), then configure and build. Sourced, not run.
set -euo pipefail

KANARI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$KANARI_ROOT/build}

# Everything the build and the default test suite need.
KANARI_PACKAGES=(g++ cmake ninja-build pkg-config libcli11-dev nlohmann-json3-dev
                 libsqlite3-dev sqlite3 libpq-dev libcurl4-openssl-dev libyaml-cpp-dev libssl-dev openssl doctest-dev
                 python3 python3-pytest)
# What only the tests use: Prometheus' own text-format parser for the
# metrics test, zsh to check its completion script, groff and man for the
# man page, dpkg-dev (dpkg-shlibdeps) and file for `cpack -G DEB`.
# PostgreSQL's server and pg_virtualenv, for the suites that run on a
# throwaway cluster (docs/testing.md).
# clang-format for the layout check (.clang-format, `check-format`). mypy
# to check the Python package's type hints.
KANARI_TEST_PACKAGES=(python3-prometheus-client zsh groff-base man-db dpkg-dev file postgresql postgresql-common
                      clang-format python3-mypy)
# The browser, only for the test that renders `kanari report --html`
# (tests/report/check_html_report.py).
KANARI_BROWSER_PACKAGES=(chromium)

# The sanitizer stage (scripts/test.sh --sanitize, scripts/fuzz.sh) adds
# clang and its runtimes: ASan, UBSan, LeakSanitizer and libFuzzer are in
# libclang-rt-14-dev, which clang only recommends.
KANARI_SANITIZER_PACKAGES=(clang libclang-rt-14-dev)
SANITIZE_BUILD_DIR=${SANITIZE_BUILD_DIR:-$KANARI_ROOT/build-asan}

kanari_log() { printf '==> %s\n' "$*" >&2; }

# ensure_packages PKG...: installs those that are not installed.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  kanari_log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_kanari() {
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    kanari_log "configuring in $BUILD_DIR"
    cmake -S "$KANARI_ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  kanari_log "building"
  cmake --build "$BUILD_DIR" -j "$(nproc)" | grep -vE '^\[[0-9]+/[0-9]+\] ' >&2 || true
  # grep swallows the build's exit status; check it separately.
  cmake --build "$BUILD_DIR" -j "$(nproc)" >/dev/null
}

# build_sanitized: the whole project and the fuzz targets with clang, ASan,
# UBSan and LeakSanitizer in $SANITIZE_BUILD_DIR (docs/testing.md). Not
# optimised, with line tables only and assertions on: the instrumented code
# compiles in less than half the time of -O1/-O2, which keeps CI short.
build_sanitized() {
  BUILD_DIR=$SANITIZE_BUILD_DIR build_kanari -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DKANARI_SANITIZE=ON -DKANARI_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_C_FLAGS_DEBUG=-O0 -gline-tables-only" "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only"
}
