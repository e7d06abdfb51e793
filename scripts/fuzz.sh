#!/usr/bin/env bash
# The long fuzz run (docs/testing.md). Builds the sanitizer tree if needed
# (clang, ASan, UBSan, libFuzzer; the same one `scripts/test.sh --sanitize`
# uses), then runs each fuzz target for SECONDS, one after the other.
#   ./scripts/fuzz.sh [SECONDS] [TARGET...]   default: 600 s for each of the four
#   FUZZ_JOBS=N ./scripts/fuzz.sh ...         N fuzzing processes per target
# The working corpus lives in $SANITIZE_BUILD_DIR/fuzz-corpus/<target> and
# grows from run to run; the seeds in tests/fuzz/corpus/ are only read.
# Crashing inputs are left in $SANITIZE_BUILD_DIR/fuzz-artifacts/<target>/.
# Exits non-zero if any target found a crash.
set -euo pipefail
source "$(dirname "$0")/common.sh"

seconds=${1:-600}
case "$seconds" in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_outcome_line fuzz_policy fuzz_canonical_json fuzz_resolve_ref)
jobs=${FUZZ_JOBS:-1}

ensure_packages "${KANARI_PACKAGES[@]}" "${KANARI_SANITIZER_PACKAGES[@]}"
build_sanitized

failed=()
for t in "${targets[@]}"; do
  bin=$SANITIZE_BUILD_DIR/fuzz/$t
  [ -x "$bin" ] || { echo "no fuzz target $t (have: fuzz_outcome_line fuzz_policy fuzz_canonical_json fuzz_resolve_ref)" >&2; exit 2; }
  corpus=$SANITIZE_BUILD_DIR/fuzz-corpus/$t
  artifacts=$SANITIZE_BUILD_DIR/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  args=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "$KANARI_ROOT/tests/fuzz/$t.dict" ] && args+=(-dict="$KANARI_ROOT/tests/fuzz/$t.dict")
  [ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
  kanari_log "fuzzing $t for $seconds s"
  if ! "$bin" "${args[@]}" "$corpus" "$KANARI_ROOT/tests/fuzz/corpus/$t" 2>"$SANITIZE_BUILD_DIR/fuzz-$t.log"; then
    failed+=("$t")
    tail -n 40 "$SANITIZE_BUILD_DIR/fuzz-$t.log" >&2
    kanari_log "$t found a crash: $(ls "$artifacts" | tr '\n' ' ')(in $artifacts)"
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$SANITIZE_BUILD_DIR/fuzz-$t.log" >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  kanari_log "crashes in: ${failed[*]}; docs/testing.md says how to turn one into a regression test"
  exit 1
fi
kanari_log "no crashes"
