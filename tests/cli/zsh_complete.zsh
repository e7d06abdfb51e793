#!/usr/bin/env zsh -f
# Types LINE and a TAB into an interactive zsh that has kanari's completion
# function on its fpath, and waits (20 s at most) for EXPECT to appear on
# the screen. Exit 0 when it does; else prints the screen and exits 1.
#   zsh -f zsh_complete.zsh COMPLETION_DIR LINE EXPECT
setopt extendedglob
zmodload zsh/zpty
dir=$1
line=$2
expect=$3
zpty kz zsh -f -i
zpty -w kz "PS1='> '; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w -n kz "$line"$'\t'
out=""
screen=""
for i in {1..200}; do
  while zpty -r -t kz chunk; do out+=$chunk; done
  screen=${${out//$'\r'/}//$'\e'\[[0-9;?]#[a-zA-Z]/}
  if [[ $screen == *"$expect"* ]]; then
    zpty -d kz
    exit 0
  fi
  sleep 0.1
done
zpty -d kz
print -r -- "zsh did not show '$expect' after '$line<TAB>':" >&2
print -r -- "$screen" >&2
exit 1
