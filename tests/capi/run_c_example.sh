#!/bin/sh
# Runs examples/c/route_and_record against a fresh store made with the CLI,
# and checks that its route decisions are the CLI's (`route --keys`) and its
# outcomes are what `canary status` counts.
#   run_c_example.sh KANARI_BINARY C_EXAMPLE_BINARY
set -eu
kanari=$1
example=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s=$work/state

"$kanari" --state "$s" init -q
printf 'You are agent A.\n' >"$work/a.md"
printf 'You are agent B.\n' >"$work/b.md"
"$kanari" --state "$s" version add --prompt "system=$work/a.md" -q
b=$("$kanari" --state "$s" version add --prompt "system=$work/b.md" --json |
  sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
[ ${#b} -eq 64 ] || { echo "could not read the new version id" >&2; exit 1; }
"$kanari" --state "$s" canary start --version "$b" --percentage 30 -q

"$example" "$s" 200 >"$work/capi.txt"

i=0
while [ $i -lt 200 ]; do echo "user-$i"; i=$((i + 1)); done >"$work/keys"
"$kanari" --state "$s" route --keys "$work/keys" >"$work/cli.txt"
diff "$work/cli.txt" "$work/capi.txt" || { echo "C API and CLI route differently" >&2; exit 1; }

canary=$(grep -c "	canary	" "$work/capi.txt")
stable=$(grep -c "	stable	" "$work/capi.txt")
[ "$canary" -gt 20 ] && [ "$stable" -gt 100 ] || { echo "implausible split: $canary/$stable" >&2; exit 1; }
status=$("$kanari" --state "$s" canary status --json | tr -d ' \n')
echo "$status" | grep -Eq "\"canary_stats\":\{([^}]*,)?\"n\":$canary[,}]" ||
  { echo "canary status does not count $canary canary outcomes: $status" >&2; exit 1; }
echo "$status" | grep -Eq "\"stable_stats\":\{([^}]*,)?\"n\":$stable[,}]" ||
  { echo "canary status does not count $stable stable outcomes: $status" >&2; exit 1; }
echo "C example: $canary canary / $stable stable, same as the CLI"
