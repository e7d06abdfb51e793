#!/usr/bin/env bash
# PostgreSQL figures for docs/benchmarks.md, on a throwaway local cluster
# (pg_virtualenv): `route --keys` of 100,000 keys, `record --jsonl` of
# 100,000 outcomes against the server's own COPY of the same rows into a
# table with the outcomes table's columns and indexes (in the same run),
# and `canary evaluate` over those outcomes. Each is timed RUNS times
# (default 5); the median is printed. The SQLite store is timed alike for
# comparison.
#   ./scripts/bench_postgresql.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
runs=${1:-5}
ensure_packages "${KANARI_PACKAGES[@]}" postgresql postgresql-common python3
build_kanari
KANARI="$BUILD_DIR/cli/kanari"
export KANARI RUNS=$runs
exec pg_virtualenv bash -c '
set -euo pipefail
work=$(mktemp -d)
trap "rm -rf $work" EXIT
python3 - "$work" <<PY
import json, sys
w = sys.argv[1]
with open(w + "/o.jsonl", "w") as f, open(w + "/o.tsv", "w") as t:
    for i in range(100000):
        f.write(json.dumps({"task": "t%d" % i, "pass": i % 3 != 0, "latency_ms": i % 1000, "version": "stable"}) + "\n")
        t.write("1\tt%d\t1\t0\t\\\\N\t\\\\N\t%d\t%d\t0\t0\t1800000000000\n" % (i, 1 if i % 3 else 0, i % 1000))
with open(w + "/keys", "w") as f:
    for i in range(100000):
        f.write("user-%d\n" % i)
PY
echo "prompt" > $work/p.md
median() { sort -n | awk "{a[NR]=\$1} END {print a[int((NR+1)/2)]}"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
for backend in sqlite postgresql; do
  declare -a rec=() copy=() route=() eval=()
  for r in $(seq "$RUNS"); do
    if [ $backend = postgresql ]; then
      psql -qc "DROP SCHEMA IF EXISTS b$r CASCADE; CREATE SCHEMA b$r"
      state="postgresql://?options=-csearch_path%3Db$r"
    else
      state=$work/sqlite$r
    fi
    $KANARI --state "$state" init -q
    $KANARI --state "$state" version add --prompt p=$work/p.md -q
    echo "second" > $work/q.md
    $KANARI --state "$state" version add --prompt p=$work/q.md -q
    t=$(now); $KANARI --state "$state" record --jsonl $work/o.jsonl -q; rec+=($(elapsed $t))
    $KANARI --state "$state" canary start --version "$($KANARI --state "$state" version list --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"id\"])")" --percentage 20 -q
    t=$(now); $KANARI --state "$state" route --keys - < $work/keys > /dev/null; route+=($(elapsed $t))
    t=$(now); $KANARI --state "$state" canary evaluate > /dev/null || true; eval+=($(elapsed $t))
    if [ $backend = postgresql ]; then
      psql -qc "CREATE TABLE b$r.copy_target (LIKE b$r.outcomes INCLUDING ALL)"
      t=$(now)
      psql -qc "\\copy b$r.copy_target (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, slot, excluded, at) from $work/o.tsv"
      copy+=($(elapsed $t))
    fi
  done
  echo "$backend: record --jsonl 100000: $(printf "%s\n" "${rec[@]}" | median) s (median of $RUNS)"
  [ $backend = postgresql ] && echo "$backend: psql \\copy of the same 100000 rows: $(printf "%s\n" "${copy[@]}" | median) s"
  echo "$backend: route --keys 100000: $(printf "%s\n" "${route[@]}" | median) s"
  echo "$backend: canary evaluate over 100000 stable outcomes: $(printf "%s\n" "${eval[@]}" | median) s"
done
'
