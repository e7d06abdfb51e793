#!/usr/bin/env bash
# `canary evaluate` and `canary status` as the open rollout's window grows
# (docs/gates.md, "Large windows"), on SQLite and on PostgreSQL (a
# throwaway cluster, pg_virtualenv). Two stores per backend, the same
# rollout and policy (a p95 latency gate and a gate on a recorded metric):
# one with 1,000 outcomes in the windows, one with OUTCOMES (default 10 M),
# half canary, half stable. Each command: hyperfine's median of RUNS
# (default 7) with min and max, in ms, and the ratio large/small from the
# same run. "before": the large store read from its outcomes, as kanari
# read every window before schema 10 (its rollout's sums switched off), 3
# runs.
#   ./scripts/bench_windows.sh [OUTCOMES]
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages "${KANARI_PACKAGES[@]}" hyperfine postgresql postgresql-common python3 sqlite3
build_kanari
export KANARI="$BUILD_DIR/cli/kanari" OUTCOMES=${1:-10000000} RUNS=${RUNS:-7}
exec pg_virtualenv bash -c '
set -euo pipefail
work=$(mktemp -d)
trap "rm -rf $work" EXIT
printf "You are a support agent.\n" > $work/a.md
printf "You are a support agent. Be brief.\n" > $work/b.md
cat > $work/policy.json <<JSON
{"min_samples": 100,
 "metrics": [{"metric": "latency_p95_ms", "max_regression": 0.2},
             {"metric": "tool_calls", "aggregate": "p90", "max": 12}]}
JSON
# N outcome lines: every other one canary, 1 in 10 of each arm failed,
# latencies 100 to 999 ms, tool_calls 0 to 6.
gen() { awk -v n="$1" "BEGIN { for (i = 0; i < n; i++)
  printf \"{\\\"task\\\":\\\"t%d\\\",\\\"pass\\\":%s,\\\"version\\\":\\\"%s\\\",\\\"latency_ms\\\":%d,\\\"metrics\\\":{\\\"tool_calls\\\":%d}}\\n\",
    i, (int(i / 2) % 10 ? \"true\" : \"false\"), (i % 2 ? \"stable\" : \"canary\"), 100 + (i * 7919) % 900, i % 7 }"; }
store() { # store BACKEND NAME N: prints the --state of a store with N outcomes in its windows
  local state=$work/$2
  if [ "$1" = postgresql ]; then
    psql -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $2 CASCADE; CREATE SCHEMA $2" >&2
    state="postgresql://?options=-csearch_path%3D$2"
  fi
  $KANARI --state "$state" init -q
  $KANARI --state "$state" version add --prompt p.md=$work/a.md -q
  local canary
  canary=$($KANARI --state "$state" version add --prompt p.md=$work/b.md --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
  $KANARI --state "$state" canary start --version "$canary" --percentage 50 --policy $work/policy.json -q
  local t0=$(date +%s.%N)
  gen "$3" | $KANARI --state "$state" record --jsonl - -q
  echo "$1: recorded $3 outcomes in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
  echo "$state"
}
hf() { # hf RUNS COMMAND: median (min, max) in ms
  hyperfine -N -i --warmup 1 --runs "$1" --export-json $work/hf.json "$2" >/dev/null 2>&1
  python3 -c "import json; r = json.load(open(\"$work/hf.json\"))[\"results\"][0]; print(\"%.2f (min %.2f, max %.2f)\" % (r[\"median\"] * 1e3, r[\"min\"] * 1e3, r[\"max\"] * 1e3))"
}
median_of() { echo "$1" | cut -d" " -f1; }
sums_off() { # sums_off BACKEND STATE
  if [ "$1" = postgresql ]; then psql -qc "UPDATE large.rollouts SET window_sums = 0"
  else sqlite3 "$2/kanari.db" "UPDATE rollouts SET window_sums = 0"; fi
}
echo "| backend | command | 1 k outcomes (ms) | $OUTCOMES outcomes (ms) | ratio | $OUTCOMES read from the outcomes (before, ms) |"
echo "|---|---|---|---|---|---|"
for backend in sqlite postgresql; do
  small=$(store $backend small 1000)
  large=$(store $backend large "$OUTCOMES")
  for cmd in "canary evaluate" "canary status"; do
    s=$(hf "$RUNS" "$KANARI --state $small $cmd")
    l=$(hf "$RUNS" "$KANARI --state $large $cmd")
    ratio=$(echo "scale=2; $(median_of "$l") / $(median_of "$s")" | bc)
    echo "| $backend | $cmd | $s | $l | $ratio | @BEFORE_${backend}_${cmd// /_}@ |"
  done > $work/rows.$backend
  $KANARI --state "$large" canary evaluate --json > $work/verdict.json || true
  python3 -c "import json; e = json.load(open(\"$work/verdict.json\")); print(\"$backend: verdict\", e[\"verdict\"], \"canary n\", e[\"canary\"][\"n\"], \"percentiles\", e[\"evidence\"][\"percentiles\"])" >&2
  sums_off $backend "$large"
  for cmd in "canary evaluate" "canary status"; do
    b=$(hf 3 "$KANARI --state $large $cmd")
    sed -i "s/@BEFORE_${backend}_${cmd// /_}@/$b/" $work/rows.$backend
  done
  cat $work/rows.$backend
  [ $backend = postgresql ] && psql -qc "SET client_min_messages = warning; DROP SCHEMA small CASCADE; DROP SCHEMA large CASCADE" || rm -rf "$large" "$small"
done
'
