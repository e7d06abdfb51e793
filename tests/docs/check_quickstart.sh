#!/usr/bin/env bash
# Runs every ```sh block of docs/quickstart.md, in order, as one script in an
# empty directory with the built kanari first on PATH; fails if any command
# fails (or the walk stops being a five-minute one).
#   check_quickstart.sh QUICKSTART.md KANARI_BINARY
set -euo pipefail
doc=$1
kanari_dir=$(cd "$(dirname "$2")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
  echo 'set -eo pipefail'
  # Print each command as it runs, so a failure shows where.
  echo 'set -x'
  awk '/^```sh$/ { inside = 1; next } /^```$/ { inside = 0; next } inside { print }' "$doc"
} >"$work/quickstart.sh"
blocks=$(grep -c '^```sh$' "$doc")
[ "$blocks" -ge 10 ] || { echo "only $blocks sh blocks in $doc" >&2; exit 1; }

# Everything a five-minute walk must show.
for cmd in "kanari init" "kanari version add" "kanari canary start" "kanari route" "kanari record" \
           "kanari canary evaluate" "kanari canary evaluate --apply" "kanari history" "kanari report --html" \
           "kanari metrics"; do
  grep -q "$cmd" "$work/quickstart.sh" || { echo "the quickstart never runs '$cmd'" >&2; exit 1; }
done

mkdir "$work/run"
start=$(date +%s)
(cd "$work/run" && env -u KANARI_STATE HOME="$work" USER=quickstart PATH="$kanari_dir:$PATH" \
   bash "$work/quickstart.sh") >"$work/out.log" 2>&1 || {
  echo "the quickstart failed; its output:" >&2
  tail -n 60 "$work/out.log" >&2
  exit 1
}
elapsed=$(( $(date +%s) - start ))

# What the walk promises happened.
run=$work/run/kanari-quickstart
grep -q 'default: ROLLBACK (applied: rolled back' "$work/out.log" ||
  { echo "the bad version was not rolled back" >&2; tail -n 60 "$work/out.log" >&2; exit 1; }
grep -q 'default: PROMOTE (applied: the canary is now stable)' "$work/out.log" ||
  { echo "the good version was not promoted" >&2; tail -n 60 "$work/out.log" >&2; exit 1; }
for f in rollback.html promoted.html kanari.prom; do
  [ -s "$run/$f" ] || { echo "the quickstart did not write $f" >&2; exit 1; }
done
grep -q '^kanari_rollout_state{track="default",state="idle"} 1$' "$run/kanari.prom" ||
  { echo "kanari.prom does not show the idle track" >&2; exit 1; }
[ "$elapsed" -lt 120 ] || { echo "the quickstart took ${elapsed}s" >&2; exit 1; }
echo "quickstart: $blocks blocks ran in ${elapsed}s"
