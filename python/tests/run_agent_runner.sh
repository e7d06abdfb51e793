#!/bin/sh
# Sets up a store with the CLI (a stable prompt, a worse canary at 25 %),
# runs examples/python/agent_runner.py on it, and checks what it printed
# against what the store holds.
#   run_agent_runner.sh KANARI PYTHON AGENT_RUNNER
# (KANARI_LIBRARY and PYTHONPATH name the build's library and python/.)
set -eu
kanari=$1
python=$2
runner=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
state=$work/state
k() { "$kanari" --state "$state" "$@"; }

k init -q
printf 'You are a support agent. Think step by step.\n' >"$work/good.md"
printf 'You are a support agent. Answer at once.\n' >"$work/fast.md"
k version add --prompt "system.md=$work/good.md" --model m-1 -q
canary=$(k version add --prompt "system.md=$work/fast.md" --model m-2 --param temperature=0.9 --json |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
k canary start --version "$canary" --percentage 25 --min-samples 20 -q

"$python" "$runner" --state "$state" --tasks 1000 --users 200 --evaluate >"$work/out" 2>&1 || {
  cat "$work/out" >&2; echo "agent_runner.py failed" >&2; exit 1; }
cat "$work/out"
for line in "ran 1000 tasks for 200 users" "every user stayed on one version" "gate: ROLLBACK"; do
  grep -qF "$line" "$work/out" || { echo "agent_runner.py did not print '$line'" >&2; exit 1; }
done
# What it printed per arm is what the store counted.
k canary status --json >"$work/status.json"
"$python" - "$work/out" "$work/status.json" <<'PY'
import json, re, sys
out = open(sys.argv[1]).read()
status = json.load(open(sys.argv[2]))
for arm in ("stable", "canary"):
    m = re.search(rf"^  {arm} ([0-9a-f]{{12}}): (\d+) tasks, (\d+) passed", out, re.M)
    assert m, f"no {arm} line"
    stats = status[f"{arm}_stats"]
    assert status[arm].startswith(m.group(1)), (arm, m.group(1))
    assert (stats["n"], stats["pass"]) == (int(m.group(2)), int(m.group(3))), (arm, stats, m.groups())
print("agent_runner's counts equal the store's")
PY
# The verdict was only printed: the CLI agrees, and the rollout is still open.
k canary evaluate -q && { echo "canary evaluate did not exit 1 (ROLLBACK)" >&2; exit 1; }
[ "$(k canary status --json | "$python" -c 'import json, sys; print(json.load(sys.stdin)["state"])')" = active ]
# A missing store: exit 3 and the library's message.
if "$python" "$runner" --state "$work/none" 2>"$work/err"; then echo "no store, yet exit 0" >&2; exit 1; else rc=$?; fi
[ "$rc" = 3 ] && grep -q "agent_runner: " "$work/err" || { echo "missing store: exit $rc" >&2; cat "$work/err" >&2; exit 1; }
echo "agent_runner.py routed, loaded, recorded and evaluated"
