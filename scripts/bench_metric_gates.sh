#!/usr/bin/env bash
# What metric gates cost `canary evaluate`: the same window of N outcomes
# (1 in 5 canary, every one with a latency and two recorded metrics),
# evaluated with the default policy and with three metric gates (a p95
# latency, a mean and a rate of recorded metrics). Medians of RUNS runs with
# min and max, both measured in the same run (docs/benchmarks.md).
#
#   ./scripts/bench_metric_gates.sh [KANARI] [N] [RUNS]
#   (defaults: build/cli/kanari, 100000, 7)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
K=$(realpath "${1:-$root/build/cli/kanari}")
n=${2:-100000}
runs=${3:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '{"min_samples": 10, "metrics": [
  {"metric": "latency_ms", "aggregate": "p95", "max": 5000},
  {"metric": "tool_calls", "aggregate": "mean", "max_ratio": 2},
  {"metric": "escalated", "aggregate": "rate", "max_regression": 0.5, "on_fail": "hold"}]}\n' >"$work/gated.json"
printf '{"min_samples": 10}\n' >"$work/plain.json"
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"task\":\"t%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d,\"metrics\":{\"tool_calls\":%d,\"escalated\":%d}}\n",
    i, (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900, i % 13, (i % 17 == 0) }' >"$work/outcomes.jsonl"

make_store() { # make_store NAME POLICY
  local s="$work/$1"
  "$K" --state "$s" init -q
  printf 'a\n' >"$work/a.md"
  printf 'b\n' >"$work/b.md"
  "$K" --state "$s" version add --prompt p.md="$work/a.md" -q
  local b
  b=$("$K" --state "$s" version add --prompt p.md="$work/b.md" --json | sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
  "$K" --state "$s" canary start --version "$b" --percentage 20 --policy "$2" -q
  "$K" --state "$s" record --jsonl "$work/outcomes.jsonl" -q
}
make_store plain "$work/plain.json"
make_store gated "$work/gated.json"

# median (min, max) in ms of `canary evaluate` on a store
measure() {
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$K" --state "$work/$1" canary evaluate >/dev/null || true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  done | sort -n | awk '{v[NR]=$1/1000} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f ms (min %.1f, max %.1f)", m, v[1], v[NR]}'
}
plain=$(measure plain)
gated=$(measure gated)
echo "| canary evaluate, $n outcomes in the window | default policy | three metric gates |"
echo "|---|---|---|"
echo "| $("$K" --version | head -1) | $plain | $gated |"
