#!/usr/bin/env bash
# One kanari command against the floor under it (docs/benchmarks.md, "One
# command"): `route --key`, `record --task` and `canary status` on an SQLite
# store of 1 M outcomes with a 20 % rollout open, next to, in the same run,
# a C program linked with every library kanari links (each loaded at start,
# as kanari's are) that computes one SHA-256, the same program linked with
# libcrypto alone, and /bin/true. With BEFORE=path/to/an/older/kanari, the
# same four commands of that binary on a store it made alike, for a
# before/after in the same run. hyperfine, the commands interleaved in
# rounds of 3 runs each: median of RUNS (default 21, rounded up to a
# multiple of 3) with min and max, in ms, and each command's ratio to the
# linked floor.
#   [BEFORE=/tmp/old/kanari] ./scripts/bench_startup.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages "${KANARI_PACKAGES[@]}" hyperfine python3
build_kanari
K="$BUILD_DIR/cli/kanari"
floor="$BUILD_DIR/bench/kanari_startup_floor"
linked="$BUILD_DIR/bench/kanari_startup_floor_linked"
[ -x "$linked" ] || { echo "bench_startup: $linked is missing (install libbenchmark-dev and rebuild)" >&2; exit 1; }
runs=${RUNS:-21}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'a\n' >"$work/a.md"
printf 'b\n' >"$work/b.md"
awk 'BEGIN { for (i = 0; i < 1000000; i++)
  printf "{\"task\":\"h%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d}\n", i,
    (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900 }' >"$work/history.jsonl"
make_store() { # make_store KANARI DIR: 1 M outcomes, a 20 % rollout open, task bench-task routed
  local k=$1 canary
  export KANARI_STATE=$2
  "$k" init -q
  "$k" version add --prompt p.md="$work/a.md" -q
  canary=$("$k" version add --prompt p.md="$work/b.md" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$k" canary start --version "$canary" --percentage 20 -q
  "$k" record --jsonl "$work/history.jsonl" -q
  "$k" route --key u --task bench-task -q # record --task then needs no version; repeats are duplicates
  unset KANARI_STATE
}
make_store "$K" "$work/s"
names=("/bin/true" "C, libcrypto only, one SHA-256" "C, every library kanari links, one SHA-256 (the floor)"
  "kanari --version" "kanari route --key user-1" "kanari canary status"
  "kanari record --task (the task routed; repeats are duplicates)")
cmds=("/bin/true" "$floor sha256 salt:user-1" "$linked sha256 salt:user-1" "$K --version"
  "$K --state $work/s route --key user-1" "$K --state $work/s canary status"
  "$K --state $work/s record --task bench-task --pass")
if [ -n "${BEFORE:-}" ]; then
  make_store "$BEFORE" "$work/b"
  names+=("before: kanari --version" "before: kanari route --key user-1" "before: kanari canary status"
    "before: kanari record --task")
  cmds+=("$BEFORE --version" "$BEFORE --state $work/b route --key user-1" "$BEFORE --state $work/b canary status"
    "$BEFORE --state $work/b record --task bench-task --pass")
fi
# The machine is shared and its speed drifts within seconds, so the
# commands are interleaved: each round runs every command 3 times (one
# hyperfine invocation), and the medians are over all rounds.
rounds=$(( runs > 3 ? (runs + 2) / 3 : 1 ))
for r in $(seq "$rounds"); do
  hyperfine -N --warmup 1 --runs 3 --export-json "$work/round$r.json" "${cmds[@]}" >/dev/null
done
python3 - "$work" "$rounds" "${names[@]}" <<'PY'
import json, statistics, sys
work, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = [[] for _ in names]
for r in range(1, rounds + 1):
    for i, result in enumerate(json.load(open(f"{work}/round{r}.json"))["results"]):
        times[i] += [t * 1e3 for t in result["times"]]
floor = statistics.median(times[2])
print(f"| command | median of {len(times[0])} (min, max) ms | ratio to the linked floor |")
print("|---|---|---|")
for i, name in enumerate(names):
    m = statistics.median(times[i])
    ratio = "1" if i == 2 else ("" if i < 2 else f"{m / floor:.2f}")
    print(f"| {name} | {m:.2f} (min {min(times[i]):.2f}, max {max(times[i]):.2f}) | {ratio} |")
PY
