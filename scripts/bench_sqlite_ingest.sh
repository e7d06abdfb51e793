#!/usr/bin/env bash
# SQLite ingest with and without window sums (docs/benchmarks.md): a store
# with a 20 % rollout open and LINES (default 1 M) outcomes recorded in it;
# then RUNS times (default 5), each from a copy of that store, `record
# --jsonl` of LINES new outcomes with the rollout keeping window sums (as
# every rollout started since schema 10 does), and the same with its sums
# switched off (as before schema 10), the same with the outcomes table's
# CHECK (excluded IN (0, 1, 2)) that schema 11 replaced (put back in the
# copy's schema), and the sqlite3 shell inserting the same rows into the
# same store (the baseline of scripts/bench.sh). With BEFORE=<an older
# kanari binary>, that binary's `record --jsonl` into the same store too.
# Medians with min and max, the rate, and peak RSS.
#   [BEFORE=/path/to/old/kanari] ./scripts/bench_sqlite_ingest.sh [LINES]
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages "${KANARI_PACKAGES[@]}" python3 sqlite3 time
build_kanari
K="$BUILD_DIR/cli/kanari"
lines=${1:-1000000}
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen() { awk -v n="$lines" -v p="$1" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"task\":\"%s%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d}\n", p, i,
    (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900 }'; }
gen base >"$work/base.jsonl"
gen new >"$work/new.jsonl"
export KANARI_STATE="$work/pristine"
printf 'a\n' >"$work/a.md"
printf 'b\n' >"$work/b.md"
"$K" init -q
"$K" version add --prompt p.md="$work/a.md" -q
canary=$("$K" version add --prompt p.md="$work/b.md" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$K" canary start --version "$canary" --percentage 20 -q
"$K" record --jsonl "$work/base.jsonl" -q
unset KANARI_STATE
modes=(with without in_list shell)
[ -n "${BEFORE:-}" ] && modes+=(before)
with=() without=() in_list=() shell=() before=() rss=()
for _ in $(seq "$runs"); do
  for mode in "${modes[@]}"; do
    rm -rf "$work/s"
    cp -r "$work/pristine" "$work/s"
    if [ "$mode" = shell ]; then
      /usr/bin/time -f '%e' -o "$work/t" sqlite3 "$work/s/kanari.db" >/dev/null <<SQL
PRAGMA synchronous=NORMAL;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < $lines - 1)
INSERT INTO outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, at, slot)
SELECT 1, 'sq' || i, CASE WHEN i % 5 = 0 THEN 2 ELSE 1 END, i % 5 = 0, 1, 0, i % 10 <> 0, 100 + i % 900, 1800000000000, 0 FROM c;
COMMIT;
SQL
      shell+=("$(cat "$work/t")")
      continue
    fi
    [ "$mode" = without ] && sqlite3 "$work/s/kanari.db" "UPDATE rollouts SET window_sums = 0"
    if [ "$mode" = in_list ]; then
      cookie=$(sqlite3 "$work/s/kanari.db" "PRAGMA schema_version")
      sqlite3 -cmd '.dbconfig defensive off' "$work/s/kanari.db" >/dev/null "BEGIN; PRAGMA writable_schema = ON;
        UPDATE sqlite_master SET sql = replace(sql, 'CHECK (excluded = 0 OR excluded = 1 OR excluded = 2)',
          'CHECK (excluded IN (0, 1, 2))') WHERE name = 'outcomes';
        PRAGMA writable_schema = OFF; PRAGMA schema_version = $((cookie + 1)); COMMIT;"
    fi
    binary=$K
    [ "$mode" = before ] && binary=$BEFORE
    /usr/bin/time -f '%e %M' -o "$work/t" "$binary" --state "$work/s" record --jsonl "$work/new.jsonl" -q
    case $mode in
    before) before+=("$(cut -d' ' -f1 "$work/t")") ;;
    with) with+=("$(cut -d' ' -f1 "$work/t")"); rss+=("$(cut -d' ' -f2 "$work/t")") ;;
    without) without+=("$(cut -d' ' -f1 "$work/t")") ;;
    in_list) in_list+=("$(cut -d' ' -f1 "$work/t")") ;;
    esac
  done
done
stats() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%g (min %g, max %g)", m, v[1], v[NR]}'; }
w=$(printf '%s\n' "${with[@]}" | stats); wo=$(printf '%s\n' "${without[@]}" | stats)
echo "| record --jsonl, $lines lines into $lines, window sums kept (s) | $w | $(echo "scale=0; $lines / ${w%% *} / 1000" | bc) k outcomes/s |"
echo "| the same, the rollout's sums switched off (s) | $wo | $(echo "scale=0; $lines / ${wo%% *} / 1000" | bc) k outcomes/s |"
il=$(printf '%s\n' "${in_list[@]}" | stats)
echo "| the same, with schema 10's CHECK (excluded IN (0, 1, 2)) (s) | $il | $(echo "scale=0; $lines / ${il%% *} / 1000" | bc) k outcomes/s |"
sh=$(printf '%s\n' "${shell[@]}" | stats)
echo "| the sqlite3 shell inserting the same rows (s) | $sh | kanari with sums: $(echo "scale=2; ${w%% *} / ${sh%% *}" | bc) x its time |"
if [ -n "${BEFORE:-}" ]; then
  b=$(printf '%s\n' "${before[@]}" | stats)
  echo "| $BEFORE, window sums kept (s) | $b | $(echo "scale=0; $lines / ${b%% *} / 1000" | bc) k outcomes/s |"
fi
echo "| peak RSS with sums (KB) | $(printf '%s\n' "${rss[@]}" | stats) | |"
