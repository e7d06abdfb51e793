#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts the binary, the man page
# and the bash and zsh completions where man, bash-completion and zsh look,
# and each of them works from there.
#   test_install.sh BUILD_DIR CMAKE
set -euo pipefail
build=$1
cmake=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/kanari share/man/man1/kanari.1 share/bash-completion/completions/kanari share/zsh/site-functions/_kanari; do
  [ -s "$prefix/$f" ] || { echo "not installed: $f" >&2; cat "$work/install.log" >&2; exit 1; }
done

kanari=$prefix/bin/kanari
"$kanari" --version
cmp "$prefix/share/bash-completion/completions/kanari" <("$kanari" generate bash)
cmp "$prefix/share/zsh/site-functions/_kanari" <("$kanari" generate zsh)
cmp "$prefix/share/man/man1/kanari.1" <("$kanari" generate man)

# man finds the page through the prefix's MANPATH.
MANPATH="$prefix/share/man" MANPAGER=cat man kanari 2>/dev/null | grep -q "kanari canary start" ||
  { echo "man kanari does not show the installed page" >&2; exit 1; }

# bash loads the installed completion as bash-completion would, and completes.
out=$(bash -c '
  source "$1"
  COMP_WORDS=(kanari can); COMP_CWORD=1; COMPREPLY=(); _kanari
  echo "${COMPREPLY[*]}"' _ "$prefix/share/bash-completion/completions/kanari")
[ "$out" = "canary" ] || { echo "installed bash completion gives '$out' for 'kanari can'" >&2; exit 1; }

# The installed binary works on a store.
"$kanari" --state "$work/state" init -q
"$kanari" --state "$work/state" metrics | grep -qx 'kanari_tracks 0'
echo "installed: binary, man page and completions work from $prefix"
