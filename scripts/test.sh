#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
#   ./scripts/test.sh            the default suite (well under 10 minutes)
#   BUILD_DIR=... ./scripts/test.sh   another build directory
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${KANARI_PACKAGES[@]}" "${KANARI_TEST_PACKAGES[@]}"
# Chromium is only for report_html_chromium, which is skipped without it
# (and fails under CI, where this step has installed it).
ensure_packages "${KANARI_BROWSER_PACKAGES[@]}"
build_kanari
kanari_log "running the tests"
cd "$BUILD_DIR"
ctest -j "$(nproc)" --output-on-failure --timeout 300
