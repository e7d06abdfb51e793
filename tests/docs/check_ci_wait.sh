#!/usr/bin/env bash
# Runs the CI examples of docs/operations.md ("CI: wait for a verdict"), the
# GitHub Actions steps and the GitLab CI script, against a real store and
# the built kanari, while a background loop stands in for the agents and for
# cron: it records outcomes and runs the documented cron line's
# `canary evaluate --all --apply --quiet`. Two scenarios per example:
#   rollback  the canary fails every task: cron rolls it back, and the CI
#             script must fail with exit 1 (cron's log stays empty, its one
#             stderr line says what was rolled back);
#   promote   the canary passes: cron promotes it through every step of
#             --steps 5,25,50,100, and the CI script must exit 0 only once
#             the canary is the track's stable.
# The doc's `--interval 30` is shortened so the whole run takes seconds. A
# wait that never ends fails its scenario: the CI script runs under
# `timeout 60`, whose exit 124 is neither the 0 nor the 1 expected.
#   check_ci_wait.sh OPERATIONS.md KANARI_BINARY
set -euo pipefail
doc=$1
kanari_dir=$(cd "$(dirname "$2")" && pwd)
export PATH="$kanari_dir:$PATH"
work=$(mktemp -d)
loop_pid=
cleanup() {
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check_ci_wait: $*" >&2; exit 1; }

# The fenced yaml block that follows a heading of the CI section.
yaml_after() {
  awk -v heading="$1" '$0 == heading { found = 1; next }
                       found && /^```yaml$/ { inside = 1; next }
                       inside && /^```$/ { exit }
                       inside { print }' "$doc"
}

# GitHub Actions: every step's `run:`, one line or a `run: |` block.
yaml_after "### GitHub Actions" | awk '
  block && match($0, /^ */) && RLENGTH <= indent && $0 !~ /^ *$/ { block = 0 }
  block { sub("^" pad, ""); print; next }
  /^ *run: [|]$/ { block = 1; match($0, /^ */); indent = RLENGTH; pad = sprintf("%*s", indent + 2, ""); next }
  /^ *run: / { sub(/^ *run: /, ""); print }' >"$work/github.sh"
# GitLab CI: every item of `script:`, one line or a `- |` block.
yaml_after "### GitLab CI" | awk '
  /^  script:$/ { script = 1; next }
  script && /^  [a-z]/ { script = 0 }
  script && block && match($0, /^ */) && RLENGTH <= 4 { block = 0 }
  script && block { sub(/^      /, ""); print; next }
  script && /^    - [|]$/ { block = 1; next }
  script && /^    - / { sub(/^    - /, ""); print }' >"$work/gitlab.sh"

for ci in github gitlab; do
  grep -q -- '--steps 5,25,50,100' "$work/$ci.sh" || fail "the $ci example starts no staged canary"
  grep -q 'canary wait .*--interval 30' "$work/$ci.sh" || fail "the $ci example runs no \`canary wait --interval 30\`"
  sed -i 's/--interval 30/--interval 0.2/' "$work/$ci.sh"
done
# The documented cron line's command, without its schedule, --state (the
# test's store is in KANARI_STATE) and redirection (the loop keeps stdout and
# stderr apart).
cron_line=$(grep -m1 -E '^ +[*/0-9,-]+ .* canary evaluate --all --apply --quiet' "$doc") ||
  fail "the doc has no cron line with \`canary evaluate --all --apply --quiet\`"
cron_cmd=$(sed -E 's/^ *([^ ]+ +){5}//; s/ --state [^ ]+//; s/ *>>.*$//' <<<"$cron_line")
[[ "$cron_cmd" == "kanari "*"canary evaluate --all --apply --quiet" ]] || fail "cannot read the cron line: $cron_cmd"

# One scenario: a fresh store with a stable version, the CI script run as a
# job would run it, and the agents-and-cron loop beside it.
scenario() {
  local ci=$1 outcome=$2
  local dir=$work/$ci-$outcome
  mkdir -p "$dir/repo/prompts"
  export KANARI_STATE=$dir/state TRACK=support-agent GITHUB_RUN_ID=4711 CI_PIPELINE_ID=815 USER=ci
  kanari init -q
  printf 'You are a support agent.\n' >"$dir/stable.md"
  kanari --track "$TRACK" version add --prompt system="$dir/stable.md" -q >/dev/null
  printf 'You are a support agent. Be brief.\n' >"$dir/repo/prompts/system.md"
  printf '{"min_samples": 3}\n' >"$dir/repo/kanari-policy.json"

  local canary_pass=--pass
  [ "$outcome" = rollback ] && canary_pass=--fail
  (
    n=0
    while [ ! -e "$dir/stop" ]; do
      for _ in 1 2 3; do
        n=$((n + 1))
        kanari --track "$TRACK" record --task "c$n" "$canary_pass" --version canary -q 2>/dev/null || true
        kanari --track "$TRACK" record --task "s$n" --pass --version stable -q 2>/dev/null || true
      done
      code=0
      eval "$cron_cmd" >>"$dir/cron.log" 2>>"$dir/cron.err" || code=$?
      echo "$code" >>"$dir/cron.codes"
      sleep 0.2
    done
  ) &
  loop_pid=$!
  code=0
  (cd "$dir/repo" && timeout 60 bash -e "$work/$ci.sh") >"$dir/ci.out" 2>"$dir/ci.err" || code=$?
  touch "$dir/stop"
  wait "$loop_pid" || true
  loop_pid=
  show() { echo "--- CI output:"; cat "$dir/ci.out" "$dir/ci.err"; echo "--- cron stderr:"; cat "$dir/cron.err"; } >&2

  [ -s "$dir/cron.log" ] && { show; fail "$ci/$outcome: cron's --quiet log is not empty: $(cat "$dir/cron.log")"; }
  local status
  status=$(kanari --track "$TRACK" canary status --json)
  if [ "$outcome" = rollback ]; then
    [ "$code" -eq 1 ] || { show; fail "$ci/$outcome: the CI script exited $code, not 1"; }
    grep -qx '1' "$dir/cron.codes" || { show; fail "$ci/$outcome: cron never exited 1"; }
    [ "$(grep -c "rolled back" "$dir/cron.err")" -eq 1 ] ||
      { show; fail "$ci/$outcome: cron's stderr does not say once that the canary was rolled back"; }
    grep -q "^kanari: track 'support-agent' rolled back: " "$dir/cron.err" ||
      { show; fail "$ci/$outcome: cron's stderr line does not name the track"; }
    grep -q "rolled back" "$dir/ci.out" || { show; fail "$ci/$outcome: the CI output does not say it was rolled back"; }
    [ "$(jq -r .state <<<"$status")" = idle ] || fail "$ci/$outcome: the rollout is still open"
  else
    [ "$code" -eq 0 ] || { show; fail "$ci/$outcome: the CI script exited $code, not 0"; }
    [ ! -s "$dir/cron.err" ] || { show; fail "$ci/$outcome: cron wrote to stderr"; }
    local id
    id=$(kanari --track "$TRACK" version list --json | jq -r '.[] | select(.role == "stable") | .id')
    [ "$id" = "$(kanari --track "$TRACK" version add --prompt system="$dir/repo/prompts/system.md" --json | jq -r .id)" ] ||
      { show; fail "$ci/$outcome: the canary is not the stable"; }
    [ "$(kanari --track "$TRACK" history --json | jq '[.[] | select(.action == "step_advanced")] | length')" -eq 3 ] ||
      { show; fail "$ci/$outcome: the rollout did not advance through 3 steps"; }
    grep -q "step 4/4 at 100 %" "$dir/ci.out" || { show; fail "$ci/$outcome: the wait did not show the last step"; }
    grep -q "promoted" "$dir/ci.out" || { show; fail "$ci/$outcome: the CI output does not say it was promoted"; }
  fi
  echo "$ci/$outcome: CI exit $code after $(wc -l <"$dir/cron.codes") cron runs"
}

start=$(date +%s)
for ci in github gitlab; do
  scenario "$ci" rollback
  scenario "$ci" promote
done
elapsed=$(( $(date +%s) - start ))
echo "ci examples: 4 scenarios in ${elapsed}s (cron: $cron_cmd)"
