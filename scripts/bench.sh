#!/usr/bin/env bash
# Whole-command benchmarks (issue: performance targets). Builds a Release
# tree in build-bench/, generates its own data under a temporary directory,
# and prints a Markdown table: medians of at least 5 runs with min and max,
# each next to a baseline measured in the same run.
#
#   ./scripts/bench.sh              everything (10 M outcomes: several minutes)
#   BENCH_QUICK=1 ./scripts/bench.sh   skips the 10 M-outcome store
set -euo pipefail
source "$(dirname "$0")/common.sh"
BUILD_DIR=${BENCH_BUILD_DIR:-$KANARI_ROOT/build-bench}

ensure_packages "${KANARI_PACKAGES[@]}" hyperfine libbenchmark-dev openssl time
build_kanari -DCMAKE_BUILD_TYPE=Release -DKANARI_BUILD_TESTS=OFF
K="$BUILD_DIR/cli/kanari"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${BENCH_RUNS:-7}

row() { printf '| %s | %s | %s | %s |\n' "$@"; }
# median/min/max of numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%g (min %g, max %g)", m, v[1], v[NR]}'; }
# hyperfine median/min/max in ms for one command (-i: `canary evaluate` exits 1
# when its verdict is ROLLBACK, which is a result here, not a failure)
hf() { hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/hf.json" "$@" >/dev/null 2>&1
       python3 -c "import json;r=json.load(open('$work/hf.json'))['results'][0];print('%.2f ms (min %.2f, max %.2f)'%(r['median']*1e3,r['min']*1e3,r['max']*1e3))"; }

echo "# kanari benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "## Microbenchmarks (Google Benchmark, median of 5)"
echo '```'
"$BUILD_DIR/bench/kanari_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 2>/dev/null | grep -E 'median|Benchmark|----'
echo '```'
echo
echo '```'
openssl speed -seconds 2 -bytes 64 sha256 2>/dev/null | tail -2
echo '```'

# --- a store with an open rollout ------------------------------------------
make_store() { # make_store DIR
  export KANARI_STATE=$1
  "$K" init -q
  printf 'a\n' > "$work/a.md"; printf 'b\n' > "$work/b.md"
  "$K" version add --prompt p.md="$work/a.md" -q
  "$K" version add --prompt p.md="$work/b.md" -q
  "$K" canary start --version "$("$K" version list --json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')" \
    --percentage 20 -q
}
gen_outcomes() { # gen_outcomes N PREFIX: N lines, 1 in 5 canary
  awk -v n="$1" -v p="$2" 'BEGIN { for (i = 0; i < n; i++)
    printf "{\"task\":\"%s%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d}\n", p, i,
      (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900 }'
}

echo
echo "## Whole commands"
echo
row "what" "kanari" "baseline (same run)" "ratio"
row "---" "---" "---" "---"

make_store "$work/s1"
seq -f 'user-%011g' 1 1000000 > "$work/keys.txt"
route_times=$(for i in $(seq "$runs"); do /usr/bin/time -f %e "$K" route --keys "$work/keys.txt" 2>&1 >/dev/null; done)
route_med=$(echo "$route_times" | stats)
rate=$(echo "$route_times" | sort -g | awk '{v[NR]=$1} END {printf "%.2f", 1/v[int((NR+1)/2)]}')
row "route --keys, 1 M keys (s)" "$route_med = ${rate} M keys/s" "target 2 M keys/s" "-"

gen_outcomes 1000000 base > "$work/base.jsonl"
gen_outcomes 1000000 new > "$work/new.jsonl"
"$K" record --jsonl "$work/base.jsonl" -q
cp -r "$work/s1" "$work/s1-pristine"
rec_times=""; rss=""
for i in $(seq 5); do
  rm -rf "$work/s1"; cp -r "$work/s1-pristine" "$work/s1"
  out=$(/usr/bin/time -f '%e %M' "$K" --state "$work/s1" record --jsonl "$work/new.jsonl" -q 2>&1)
  rec_times+="$(echo "$out" | awk '{print $1}')"$'\n'; rss+="$(echo "$out" | awk '{print $2}')"$'\n'
done
# Baseline: the sqlite3 shell inserting the same rows into the same schema.
sq_times=""
for i in $(seq 5); do
  rm -rf "$work/s1"; cp -r "$work/s1-pristine" "$work/s1"
  # -o: time's own report must not go where sqlite3's output is discarded.
  /usr/bin/time -f %e -o "$work/sq.time" sqlite3 "$work/s1/kanari.db" >/dev/null 2>&1 <<SQL
PRAGMA synchronous=NORMAL;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < 999999)
INSERT INTO outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, at, slot)
SELECT 1, 'sq' || i, CASE WHEN i % 5 = 0 THEN 2 ELSE 1 END, i % 5 = 0, 1, 0, i % 10 <> 0, 100 + i % 900, 1800000000000, 0 FROM c;
COMMIT;
SQL
  sq_times+="$(cat "$work/sq.time")"$'\n'
done
rec_med=$(printf '%s' "$rec_times" | sed '/^$/d' | stats)
sq_med=$(printf '%s' "$sq_times" | sed '/^$/d' | stats)
ratio=$(python3 -c "import statistics as s;a=[float(x) for x in '''$rec_times'''.split()];b=[float(x) for x in '''$sq_times'''.split()];print('%.2f x sqlite3 time; %.0f k outcomes/s' % (s.median(a)/s.median(b), 1000/s.median(a)))")
row "record --jsonl 1 M lines into 1 M (s)" "$rec_med" "sqlite3 shell, same rows: $sq_med" "$ratio"
row "record --jsonl peak RSS (KB)" "$(printf '%s' "$rss" | sed '/^$/d' | stats)" "-" "target 64 MB"

rm -rf "$work/s1"; cp -r "$work/s1-pristine" "$work/s1"
export KANARI_STATE="$work/s1"
# The 1 M outcomes are all in the open rollout's windows here (800 k
# baseline, 200 k canary): the status reads and ranks every one of them.
row "canary status, 1 M outcomes all in the current windows" "$(hf "$K canary status")" "-" "grows with the window"
# The usual shape: the 1 M outcomes are history, the open rollout has 1,000.
canary_id=$("$K" canary status --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["canary"])')
"$K" canary rollback -q
"$K" canary start --version "$canary_id" --percentage 20 -q
gen_outcomes 1000 cur | "$K" record --jsonl - -q
F="$BUILD_DIR/bench/kanari_startup_floor"
row "process start: /bin/true; a C program linking libcrypto; the same computing one EVP SHA-256" \
  "-" "$(hf /bin/true); $(hf "$F"); $(hf "$F sha256 salt:user-1")" "the floor under route --key"
row "route --key on 1 M outcomes" "$(hf "$K route --key user-1")" "$(hf "$K --version")" "kanari --version = process start"
row "record --task on 1 M outcomes" "$(hf --setup "$K route --key u --task bench-task" "$K record --task bench-task --pass")" "-" "-"
row "canary status on 1 M outcomes, window 1000" "$(hf "$K canary status")" "-" "-"
row "canary evaluate on 1 M outcomes, window 1000" "$(hf "$K canary evaluate")" "-" "-"

# --- evaluate/status as history grows: 100 rollouts, a fixed current window
history_store() { # history_store DIR PER_ROLLOUT
  make_store "$1" >/dev/null
  "$K" canary rollback -q
  for r in $(seq 1 99); do
    printf 'v%d\n' "$r" > "$work/v.md"
    id=$("$K" version add --prompt p.md="$work/v.md" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
    "$K" canary start --version "$id" --percentage 50 -q
    gen_outcomes "$2" "r$r-" | "$K" record --jsonl - -q
    "$K" canary rollback -q
  done
  printf 'current\n' > "$work/v.md"
  id=$("$K" version add --prompt p.md="$work/v.md" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  "$K" canary start --version "$id" --percentage 50 -q
  gen_outcomes 1000 cur | "$K" record --jsonl - -q
}
sizes="1000 10000"
[ -z "${BENCH_QUICK:-}" ] && sizes="$sizes 100000"
for per in $sizes; do
  history_store "$work/h$per" "$per"
  export KANARI_STATE="$work/h$per"
  total=$((per * 99 + 1000))
  row "canary evaluate, $total outcomes / 100 rollouts" "$(hf "$K canary evaluate")" "-" "window: 1000"
  row "canary status, $total outcomes / 100 rollouts" "$(hf "$K canary status")" "-" "window: 1000"
  rm -rf "$work/h$per"
done

sim=$( { /usr/bin/time -f %e "$K" simulate --stable-rate 0.9 --canary-rate 0.85 --trials 100000 --json >"$work/sim.json"; } 2>&1 )
evals=$(python3 -c "import json;print(json.load(open('$work/sim.json'))['gate_evaluations'])")
row "simulate, 100 k trials" "$sim s, $evals gate evaluations" "-" "$(python3 -c "print('%.1f M evaluations/s' % ($evals/$sim/1e6))")"
