#!/usr/bin/env bash
# Installs what is missing, builds, and runs a whole canary lifecycle on a
# temporary embedded store: versions, a staged rollout with routing and
# outcomes promoted to stable by the gate, a second rollout rolled back by
# the gate, and the audit history.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${KANARI_PACKAGES[@]}"
build_kanari

kanari() { "$BUILD_DIR/cli/kanari" "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KANARI_STATE="$work/state"
export USER=${USER:-demo}
step() { printf '\n\033[1m$ kanari %s\033[0m\n' "$*"; kanari "$@"; }

cd "$work"
mkdir -p roles tools
printf 'You are a careful backend engineer.\n' > roles/backend.md
printf '{"name": "search", "parameters": {"q": "string"}}\n' > tools/search.json

step init
step version add roles/backend.md --tool search=tools/search.json --model m-1 --param temperature=0.2 --label v1
printf 'You are a careful backend engineer.\nWrite tests first.\n' > roles/backend.md
v2=$(kanari version add roles/backend.md --tool search=tools/search.json --model m-2 --param temperature=0.2 \
       --label v2 --json | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
step version list
step version show "${v2:0:8}"
step version diff stable "${v2:0:8}"
step version checkout "${v2:0:8}" --to "$work/checkout"
ls -R "$work/checkout"

# A staged rollout: 10 canary tasks per step, promoted by the gate.
step canary start --version "${v2:0:8}" --steps 10,50,100 --reason "new prompt: tests first"
printf '%s\n' user-1 user-2 user-3 user-4 user-5 > keys.txt
step route --keys keys.txt
step route --key user-42 --task task-42
kanari record --task task-42 --pass --latency-ms 900 -q

outcomes() { # outcomes ARM PASSES FAILS PREFIX
  local i
  for ((i = 0; i < $2; i++)); do echo "{\"task\":\"$4-$i\",\"pass\":true,\"version\":\"$1\",\"latency_ms\":$((800 + i * 7))}"; done
  for ((i = 0; i < $3; i++)); do echo "{\"task\":\"$4-f$i\",\"pass\":false,\"version\":\"$1\",\"latency_ms\":1500}"; done
}
outcomes stable 18 2 s1 > stable.jsonl
step record --jsonl stable.jsonl
for s in 1 2 3; do
  outcomes canary 10 0 "c$s" | kanari record --jsonl - -q
  step canary status
  step canary evaluate --apply
done

# Never silent: a hook announces every promotion and rollback (here a
# command appending to a file; a chat webhook is `--url URL --format slack`).
step hook add announce --on promoted,rolled_back --command "cat >> '$work/notifications.jsonl'; echo >> '$work/notifications.jsonl'"

# A second rollout that regresses: the gate rolls it back (exit 1).
printf 'You are a backend engineer. Be brief.\n' > roles/backend.md
v3=$(kanari version add roles/backend.md --model m-3 --label v3 --json | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
step canary --prompt-version "${v3:0:8}" --percentage 20
# Conversations route their session: each is pinned to the version it got.
printf '\n\033[1m$ kanari route --session conv-N   (N = 1..12)\033[0m\n'
for n in $(seq 1 12); do kanari route --session "conv-$n"; done
outcomes stable 9 1 s2 | kanari record --jsonl - -q
outcomes canary 6 4 c4 | kanari record --jsonl - -q
set +e
step canary evaluate --apply
rc=$?
set -e
echo "(evaluate exited $rc: 1 means a rollback was due and applied)"
[ "$rc" -eq 1 ]
printf '\nTheir next turn: the canary'"'"'s conversations are moved to the stable, and told so:\n'
for n in $(seq 1 12); do kanari route --session "conv-$n"; done
step canary status
printf '\nThe hook was sent the rollback (notifications.jsonl):\n'
grep -c '"action":"rolled_back"' "$work/notifications.jsonl"
step hook log
step history --limit 20
step audit verify
printf '\nDemo finished: v2 was promoted step by step to stable; v3 was rolled back.\n'
