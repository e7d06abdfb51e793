#!/usr/bin/env bash
# The bash and zsh completions against the CLI itself: the command tree is
# read from `kanari --help` and `kanari COMMAND --help` (not from the
# generator), so a command or option the scripts miss fails this test.
# Then bash completion is driven as bash does it (COMP_WORDS, COMP_CWORD,
# COMPREPLY), and the zsh script is syntax-checked.
#   check_completion.sh KANARI BASH_COMPLETION ZSH_COMPLETION
set -euo pipefail
kanari=$1
bash_script=$2
zsh_script=$3
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# First words of the lines of a help section ("Subcommands:", "Options:").
section() { awk -v s="$1:" '$0 == s { on = 1; next } on && /^$/ { on = 0 } on { print $1 }'; }

# Every command path, breadth first.
all=()
queue=("")
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  # shellcheck disable=SC2086
  for sub in $("$kanari" $p --help | section Subcommands); do
    all+=("${p:+$p }$sub")
    queue+=("${p:+$p }$sub")
  done
done
[ ${#all[@]} -ge 20 ] || fail "only ${#all[@]} commands found in --help: ${all[*]}"

# The installed scripts are what the binary generates.
cmp -s "$bash_script" <("$kanari" generate bash) || fail "$bash_script differs from 'kanari generate bash'"
cmp -s "$zsh_script" <("$kanari" generate zsh) || fail "$zsh_script differs from 'kanari generate zsh'"

# shellcheck source=/dev/null
source "$bash_script"
complete -p kanari >/dev/null || fail "the bash script does not register a completion for kanari"
# complete_line WORD... : what bash offers for the last word.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _kanari
  [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}

for path in "${all[@]}"; do
  leaf=${path##* }
  parent=""
  [ "$leaf" = "$path" ] || parent=${path% *}
  # shellcheck disable=SC2086
  complete_line kanari $parent "" | grep -qxF "$leaf" || fail "bash: 'kanari $parent <TAB>' does not offer $leaf"
  # shellcheck disable=SC2086
  for opt in $("$kanari" $path --help | section Options | tr ',' '\n' | grep '^-'); do
    # shellcheck disable=SC2086
    complete_line kanari $path "${opt:0:3}" | grep -qxF -- "$opt" ||
      fail "bash: 'kanari $path ${opt:0:3}<TAB>' does not offer $opt"
    grep -qF -- "'$opt" "$zsh_script" || fail "zsh: $opt of '$path' is missing"
  done
  grep -q "^_kanari_cmd_${path// /_}() {" "$zsh_script" || fail "zsh: no completion function for '$path'"
  grep -qF "'$leaf:" "$zsh_script" || fail "zsh: '$path' is not offered as a command"
done

# What a person types.
[ "$(complete_line kanari can)" = "canary" ] || fail "kanari can<TAB> gives '$(complete_line kanari can)'"
want=$("$kanari" canary --help | section Subcommands | sort)
[ "$(complete_line kanari canary "")" = "$want" ] || fail "kanari canary <TAB> gives '$(complete_line kanari canary "")'"
[ "$(complete_line kanari --track x canary st)" = $'start\nstatus' ] ||
  fail "kanari --track x canary st<TAB> gives '$(complete_line kanari --track x canary st)'"
[ "$(complete_line kanari --json canary st)" = $'start\nstatus' ] ||
  fail "flags take no value: kanari --json canary st<TAB> gives '$(complete_line kanari --json canary st)'"
[ "$(complete_line kanari canary start --regression "")" = $'absolute\nrelative' ] ||
  fail "--regression values: '$(complete_line kanari canary start --regression "")'"
[ "$(complete_line kanari generate "")" = $'bash\nman\nzsh' ] || fail "kanari generate <TAB>"
[ "$(complete_line kanari version show "")" = $'canary\nstable' ] || fail "kanari version show <TAB>"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/rep.html" "$work/policy.json"
(cd "$work" && [ "$(complete_line kanari report --html re)" = "rep.html" ]) || fail "kanari report --html re<TAB>"
(cd "$work" && [ "$(complete_line kanari canary start --policy po)" = "policy.json" ]) || fail "--policy po<TAB>"
[ -z "$(complete_line kanari init "")" ] || fail "kanari init <TAB> offers '$(complete_line kanari init "")'"

# zsh: the script parses, is a completion function for kanari, and an
# interactive zsh completes with it (zsh_complete.zsh types the line and TAB).
if command -v zsh >/dev/null; then
  zsh -n "$zsh_script" || fail "zsh -n $zsh_script"
  head -n 1 "$zsh_script" | grep -qx '#compdef kanari' || fail "zsh: no #compdef kanari line"
  mkdir "$work/zsh"
  cp "$zsh_script" "$work/zsh/_kanari"
  while IFS='|' read -r line expect; do
    zsh -f "$(dirname "$0")/zsh_complete.zsh" "$work/zsh" "$line" "$expect" || fail "zsh: '$line<TAB>' does not show '$expect'"
  done <<'CASES'
kanari can|kanari canary 
kanari canary |evaluate  -- 
kanari --json canary st|kanari --json canary sta
kanari canary start --regression=|absolute
kanari version show |stable
CASES
elif [ -n "${CI:-}" ]; then
  fail "zsh is not installed (scripts/test.sh installs it)"
fi

[ "$failures" -eq 0 ] || { echo "$failures completion checks failed" >&2; exit 1; }
echo "bash and zsh completions cover all ${#all[@]} commands and their options"
