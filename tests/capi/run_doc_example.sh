#!/bin/sh
# Runs the complete C example of docs/library.md (compiled from the manual
# itself) for 20 tasks on a store with a 50 % canary whose prompt asks for
# care: each task must be routed as `kanari route` routes its key, load its
# own version's prompt (the stand-in model passes exactly the canary's
# tasks), and be recorded with its metric.
#   run_doc_example.sh KANARI_BINARY EXAMPLE_BINARY
set -eu
kanari=$1
example=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s=$work/state

"$kanari" --state "$s" init -q
printf 'You are agent A.\n' >"$work/a.md"
printf 'You are the careful agent B.\n' >"$work/b.md"
"$kanari" --state "$s" version add --prompt "system=$work/a.md" --model m-1 -q
b=$("$kanari" --state "$s" version add --prompt "system=$work/b.md" --model m-1 --json |
  sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
[ ${#b} -eq 64 ] || { echo "could not read the new version id" >&2; exit 1; }
# A metric gate on the example's metric, so that status shows what was recorded.
printf '{"metrics": [{"metric": "tool_calls", "aggregate": "mean", "max": 5}]}' >"$work/policy.json"
"$kanari" --state "$s" canary start --version "$b" --percentage 50 --policy "$work/policy.json" -q

canary=0
i=0
while [ $i -lt 20 ]; do
  line=$("$example" "$s" "user-$i" "task-$i")
  route=$("$kanari" --state "$s" route --key "user-$i")
  arm=$(printf '%s\n' "$route" | cut -f2)
  version=$(printf '%s\n' "$route" | cut -f3 | cut -c1-12)
  if [ "$arm" = canary ]; then
    want="task-$i canary $version 29-byte prompt, passed"
    canary=$((canary + 1))
  else
    want="task-$i stable $version 17-byte prompt, failed"
  fi
  [ "$line" = "$want" ] || { echo "got '$line', want '$want'" >&2; exit 1; }
  i=$((i + 1))
done
[ $canary -gt 0 ] && [ $canary -lt 20 ] || { echo "implausible split: $canary of 20 on the canary" >&2; exit 1; }

status=$("$kanari" --state "$s" canary status --json | tr -d ' \n')
echo "$status" | grep -Eq "\"canary_stats\":\{([^}]*,)?\"n\":$canary[,}]" ||
  { echo "canary status does not count $canary canary outcomes: $status" >&2; exit 1; }
echo "$status" | grep -Eq "\"canary_stats\":\{([^}]*,)?\"pass\":$canary[,}]" ||
  { echo "canary status does not count $canary passes: $status" >&2; exit 1; }
echo "$status" | grep -Eq "\"canary\":\{\"n\":$canary,\"value\":3\.0\},[^}]*\"metric\":\"tool_calls\"" ||
  { echo "canary status does not show the canary's tool_calls metric (3 per task): $status" >&2; exit 1; }
echo "docs/library.md example: 20 tasks, $canary on the canary, prompts and outcomes as routed"
