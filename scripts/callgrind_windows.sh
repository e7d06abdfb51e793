#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind, repeatable on a noisy
# machine) of `canary evaluate` and `canary status` on a store with 1 M
# outcomes of history and a 1,000-outcome window, for two kanari binaries on
# the same store contents: OLD writes the store, NEW opens a copy (migrating
# it first, untimed). docs/benchmarks.md, "Windows by the time a task ran".
#
#   scripts/callgrind_windows.sh OLD_KANARI NEW_KANARI
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_KANARI NEW_KANARI" >&2; exit 2; }
OLD=$1; NEW=$2; work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen() { awk -v n="$1" -v p="$2" 'BEGIN { for (i = 0; i < n; i++)
    printf "{\"task\":\"%s%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d}\n", p, i,
      (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900 }'; }
export KANARI_STATE=$work/s
"$OLD" init -q
printf 'a\n' > "$work/a.md"; printf 'b\n' > "$work/b.md"
"$OLD" version add --prompt p.md="$work/a.md" -q
b=$("$OLD" version add --prompt p.md="$work/b.md" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
"$OLD" canary start --version "$b" --percentage 20 -q
gen 1000000 base | "$OLD" record --jsonl - -q
"$OLD" canary rollback -q
"$OLD" canary start --version "$b" --percentage 20 -q
gen 1000 cur | "$OLD" record --jsonl - -q
cp -r "$work/s" "$work/new"
KANARI_STATE=$work/new "$NEW" canary status -q  # migrates to schema 4
for cmd in "canary evaluate" "canary status"; do
  for which in OLD NEW; do
    bin=${!which}; st=$work/s; [ $which = NEW ] && st=$work/new
    KANARI_STATE=$st valgrind --tool=callgrind --callgrind-out-file=$work/cg.out $bin $cmd >/dev/null 2>$work/cg.err || true
    echo "$cmd $which $(grep -o 'Collected : [0-9]*' $work/cg.err | awk '{print $3}')"
  done
done
