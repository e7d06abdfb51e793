#!/usr/bin/env bash
# The long reliability runs, behind an explicit command (the default suite
# runs short versions of the same tests):
#   - the concurrency soak for KANARI_SOAK_SECONDS (default here 600);
#   - kill -9 at random instants: KANARI_CRASH_MIXED_ITERATIONS mixed
#     commands (default here 2000) and KANARI_CRASH_ITERATIONS 200k-line
#     imports (default here 100, with kills up to 2.5 s in).
#
#   ./scripts/soak.sh                 everything, about 20 minutes
#   KANARI_SOAK_SECONDS=60 ./scripts/soak.sh
# A failure prints KANARI_CRASH_SEED=...; set it to replay the same run.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${KANARI_PACKAGES[@]}"
build_kanari
export KANARI_SOAK_SECONDS=${KANARI_SOAK_SECONDS:-600}
export KANARI_CRASH_MIXED_ITERATIONS=${KANARI_CRASH_MIXED_ITERATIONS:-2000}
export KANARI_CRASH_ITERATIONS=${KANARI_CRASH_ITERATIONS:-100}
export KANARI_CRASH_MAX_DELAY_MS=${KANARI_CRASH_MAX_DELAY_MS:-2500}
kanari_log "soak ${KANARI_SOAK_SECONDS} s; ${KANARI_CRASH_MIXED_ITERATIONS} mixed and ${KANARI_CRASH_ITERATIONS} import crashes"
"$BUILD_DIR/tests/kanari_tests" -tc='soak*,crash*' --duration=true
