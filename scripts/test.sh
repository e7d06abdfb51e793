#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
#   ./scripts/test.sh              the default suite (g++, in build/)
#   ./scripts/test.sh --sanitize   the same suite built with clang, ASan, UBSan
#                                  and LeakSanitizer (in build-asan/), plus a
#                                  short run of every fuzz target (docs/testing.md)
#   BUILD_DIR=... / SANITIZE_BUILD_DIR=... ./scripts/test.sh   other build directories
set -euo pipefail
source "$(dirname "$0")/common.sh"

sanitize=no
case "${1:-}" in
  "") ;;
  --sanitize) sanitize=yes ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

ensure_packages "${KANARI_PACKAGES[@]}" "${KANARI_TEST_PACKAGES[@]}"
# Chromium is only for report_html_chromium, which is skipped without it
# (and fails under CI, where this step has installed it).
ensure_packages "${KANARI_BROWSER_PACKAGES[@]}"
start=$SECONDS
if [ "$sanitize" = yes ]; then
  ensure_packages "${KANARI_SANITIZER_PACKAGES[@]}"
  build_sanitized
  BUILD_DIR=$SANITIZE_BUILD_DIR
else
  build_kanari
fi
kanari_log "built in $((SECONDS - start)) s; checking the layout (.clang-format)"
cmake --build "$BUILD_DIR" --target check-format
kanari_log "running the tests"
start=$SECONDS
cd "$BUILD_DIR"
ctest -j "$(nproc)" --output-on-failure --timeout 300 -LE postgresql
kanari_log "tests ran in $((SECONDS - start)) s"
# The same suites on PostgreSQL, on a throwaway cluster that pg_virtualenv
# creates, serves on loopback and drops afterwards (docs/testing.md). Under
# the sanitizers, only the store's own cases, the C API and the many-hosts
# ones: the whole pass, the kill -9 tests included, is the default stage's.
start=$SECONDS
filter=()
[ "$sanitize" = yes ] && filter=(-R '^postgresql/(postgresql|store|capi|concurrency)')
kanari_log "running the PostgreSQL pass on a throwaway cluster (pg_virtualenv)"
pg_virtualenv ctest -j "$(nproc)" --output-on-failure --timeout 300 -L postgresql "${filter[@]}"
kanari_log "the PostgreSQL pass ran in $((SECONDS - start)) s"
