#!/usr/bin/env bash
# The generated man page renders without a warning and documents every
# command of the CLI (read from `kanari --help`, recursively).
#   check_man.sh KANARI MAN_PAGE
set -euo pipefail
kanari=$1
page=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

groff -man -Tutf8 -ww -z "$page" 2>"$work/warnings"
if [ -s "$work/warnings" ]; then
  echo "groff warns about $page:" >&2
  cat "$work/warnings" >&2
  exit 1
fi
MANPAGER=cat MANWIDTH=100 man -l "$page" 2>"$work/man.err" | col -b >"$work/page.txt"
[ ! -s "$work/man.err" ] || { echo "man -l $page:" >&2; cat "$work/man.err" >&2; exit 1; }

section() { awk -v s="$1:" '$0 == s { on = 1; next } on && /^$/ { on = 0 } on { print $1 }'; }
missing=0
queue=("")
n=0
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  # shellcheck disable=SC2086
  for sub in $("$kanari" $p --help | section Subcommands); do
    path="${p:+$p }$sub"
    queue+=("$path")
    n=$((n + 1))
    grep -qF "kanari $path" "$work/page.txt" || { echo "the man page does not mention 'kanari $path'" >&2; missing=1; }
  done
done
for heading in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS "EXIT STATUS" ENVIRONMENT; do
  grep -qx "$heading" "$work/page.txt" || { echo "the man page has no $heading section" >&2; missing=1; }
done
version=$("$kanari" --version)
grep -qF "$version" "$work/page.txt" || { echo "the man page does not say '$version'" >&2; missing=1; }
grep -qF -- "--state" "$work/page.txt" || { echo "options do not render as ASCII (--state)" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 1
echo "the man page renders and documents all $n commands"
