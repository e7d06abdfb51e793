#!/usr/bin/env bash
# One kanari command against the floor under it (docs/benchmarks.md, "One
# command"): `route --key`, `record --task` and `canary status` on an SQLite
# store of 1 M outcomes with a 20 % rollout open, next to, in the same run,
# a C program linked with every library kanari links (each loaded at start,
# as kanari's are) that computes one SHA-256, the same program linked with
# libcrypto alone, and /bin/true. hyperfine: median of RUNS (default 21)
# with min and max, in ms; each command's ratio to the linked floor.
#   ./scripts/bench_startup.sh
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
export KANARI_STATE="$work/s"
printf 'a\n' >"$work/a.md"
printf 'b\n' >"$work/b.md"
"$K" init -q
"$K" version add --prompt p.md="$work/a.md" -q
canary=$("$K" version add --prompt p.md="$work/b.md" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$K" canary start --version "$canary" --percentage 20 -q
awk 'BEGIN { for (i = 0; i < 1000000; i++)
  printf "{\"task\":\"h%d\",\"pass\":%s,\"version\":\"%s\",\"latency_ms\":%d}\n", i,
    (i % 10 ? "true" : "false"), (i % 5 ? "stable" : "canary"), 100 + i % 900 }' | "$K" record --jsonl - -q
hf() { # hf [hyperfine options] COMMAND: median (min, max) in ms
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/hf.json" "$@" >/dev/null 2>&1
  python3 -c "import json; r = json.load(open('$work/hf.json'))['results'][0]; print('%.2f (min %.2f, max %.2f)' % (r['median'] * 1e3, r['min'] * 1e3, r['max'] * 1e3))"
}
base=$(hf "$linked sha256 salt:user-1")
ratio() { echo "scale=2; ${1%% *} / ${base%% *}" | bc; }
echo "| command | median (min, max) ms | ratio to the linked floor |"
echo "|---|---|---|"
echo "| /bin/true | $(hf /bin/true) | |"
echo "| C, libcrypto only, one SHA-256 | $(hf "$floor sha256 salt:user-1") | |"
echo "| C, every library kanari links, one SHA-256 (the floor) | $base | 1 |"
for args in "--version" "route --key user-1" "canary status"; do
  t=$(hf "$K $args")
  echo "| kanari $args | $t | $(ratio "$t") |"
done
t=$(hf --setup "$K route --key u --task bench-task" "$K record --task bench-task --pass")
echo "| kanari record --task (the task routed; repeats are duplicates) | $t | $(ratio "$t") |"
