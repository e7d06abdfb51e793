#!/usr/bin/env bash
# PostgreSQL ingest against the server's own COPY (docs/benchmarks.md), on a
# throwaway local cluster (pg_virtualenv): a store with a 20 % rollout open
# and LINES (default 1 M) outcomes already recorded in it; then, RUNS times
# (default 5), alternating, `record --jsonl` of LINES new outcomes (wall
# time and peak RSS) and `psql \copy` of the same rows, as they are stored,
# into the same outcomes table. Between runs the new rows are deleted and
# the table vacuumed, so every run starts from the same store. Prints the
# medians (with min and max) and kanari's rate as a share of COPY's.
#   ./scripts/bench_pg_ingest.sh [LINES]
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages "${KANARI_PACKAGES[@]}" postgresql postgresql-common python3 time
build_kanari
export KANARI="$BUILD_DIR/cli/kanari" LINES=${1:-1000000} RUNS=${RUNS:-5}
exec pg_virtualenv bash -c '
set -euo pipefail
work=$(mktemp -d)
trap "rm -rf $work" EXIT
state="postgresql://"
printf "a\n" > $work/a.md
printf "b\n" > $work/b.md
$KANARI --state $state init -q
$KANARI --state $state version add --prompt p.md=$work/a.md -q
canary=$($KANARI --state $state version add --prompt p.md=$work/b.md --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
$KANARI --state $state canary start --version $canary --percentage 20 -q
# LINES lines with task ids PREFIX0..; 1 in 5 canary, 1 in 10 failed.
gen() { awk -v n="$LINES" -v p="$1" "BEGIN { for (i = 0; i < n; i++)
  printf \"{\\\"task\\\":\\\"%s%d\\\",\\\"pass\\\":%s,\\\"version\\\":\\\"%s\\\",\\\"latency_ms\\\":%d}\\n\",
    p, i, (i % 10 ? \"true\" : \"false\"), (i % 5 ? \"stable\" : \"canary\"), 100 + i % 900 }"; }
gen base > $work/base.jsonl
gen new > $work/new.jsonl
$KANARI --state $state record --jsonl $work/base.jsonl -q
# The same rows as kanari stores them, for COPY.
psql -qAt -c "SET client_min_messages = warning" -c "CREATE TABLE shape AS SELECT * FROM outcomes WHERE false" >/dev/null
$KANARI --state $state record --jsonl $work/new.jsonl -q
psql -qAt -c "\\copy (SELECT track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost, tokens, score, error, at, slot, excluded, metrics FROM outcomes WHERE task LIKE '"'"'new%'"'"' ORDER BY id) TO $work/new.tsv"
reset() { psql -qAt -c "DELETE FROM outcomes WHERE task LIKE '"'"'new%'"'"'" -c "VACUUM outcomes" >/dev/null; }
reset
echo "store: $(psql -qAt -c "SELECT count(*) FROM outcomes") outcomes before each run; $(wc -l < $work/new.tsv) rows per run" >&2
k=(); rss=(); c=()
for r in $(seq $RUNS); do
  /usr/bin/time -f "%e %M %U %S" -o $work/t $KANARI --state $state record --jsonl $work/new.jsonl -q
  k+=($(cut -d" " -f1 $work/t)); rss+=($(cut -d" " -f2 $work/t)); echo "record: $(cat $work/t) (wall s, peak RSS KB, user s, system s)" >&2
  reset
  t0=$(date +%s.%N)
  psql -qAt -c "\\copy outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost, tokens, score, error, at, slot, excluded, metrics) FROM $work/new.tsv"
  c+=($(echo "$(date +%s.%N) - $t0" | bc))
  reset
done
stats() { sort -g | awk "{v[NR]=\$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf \"%g (min %g, max %g)\", m, v[1], v[NR]}"; }
km=$(printf "%s\n" "${k[@]}" | stats); cm=$(printf "%s\n" "${c[@]}" | stats)
echo "| record --jsonl, $LINES lines into $LINES (s) | $km |"
echo "| psql \\copy of the same rows into the same table (s) | $cm |"
echo "| kanari rate as a share of COPY rate | $(echo "scale=2; ${cm%% *} / ${km%% *}" | bc) |"
echo "| record --jsonl peak RSS (KB) | $(printf "%s\n" "${rss[@]}" | stats) |"
'
