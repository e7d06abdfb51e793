#!/bin/sh
# Runs one libFuzzer target for SECONDS on its seed corpus (docs/testing.md).
# Every seed runs first, so a crash that was turned into a seed is a
# regression check; new inputs go to WORK/corpus and crashes to
# WORK/artifacts, never into the seed directory.
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [DICT]
set -eu
fuzzer=$1
seeds=$2
work=$3
seconds=$4
dict=${5:-}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
set -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$work/artifacts/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
status=0
"$fuzzer" "$@" "$work/corpus" "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzzer failed (exit $status); the input is in $work/artifacts/:" >&2
  ls -l "$work/artifacts" >&2
  echo "reproduce with: $fuzzer $work/artifacts/<file>" >&2
fi
exit "$status"
