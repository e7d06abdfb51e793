#!/usr/bin/env bash
# The command line reaches the store only through the library's operations
# (lib/rollout, lib/report), each of which owns its transaction
# (docs/architecture.md, "Layers"). So no file under cli/ includes a store/
# header, names the store:: namespace or uses a rollout::Context's `store`
# member, and no CLI target links kanari_store itself. The exceptions below
# may mention only what their pattern allows.
#   check_layering.sh CLI_DIR
set -euo pipefail
cli=${1:?usage: check_layering.sh CLI_DIR}

declare -A allowed=(
  # The executable owns the store libraries' process-wide settings.
  [main.cpp]='^(#include "store/store\.hpp"|store::configure_for_executable)$'
  # The one top-level catch turns a store failure into exit 3.
  [cli.cpp]='^(#include "store/failure\.hpp"|store::Store(Failure|Locked))$'
  # The invocation's store is opened here and handed to the library.
  [context.hpp]='^(#include "store/[a-z_]+\.hpp"|store::[A-Za-z_]+)$'
  [context.cpp]='^(#include "store/[a-z_]+\.hpp"|store::[A-Za-z_]+)$'
  # `init` creates the store.
  [commands/init.cpp]='^(#include "store/[a-z_]+\.hpp"|store::[A-Za-z_]+)$'
)

mention='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]store/[^">]*[">]|store::[A-Za-z_0-9]*|(\.|->)store([^A-Za-z0-9_]|$)'
violations=()
files=0
cd "$cli"
while IFS= read -r file; do
  file=${file#./}
  files=$((files + 1))
  while IFS= read -r hit; do
    line=${hit%%:*}
    what=$(printf '%s' "${hit#*:}" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*/#include /')
    pattern=${allowed[$file]:-}
    if [ -n "$pattern" ] && printf '%s' "$what" | grep -qE "$pattern"; then
      continue
    fi
    violations+=("cli/$file:$line: $what: $(sed -n "${line}p" "$file" | sed -E 's/^[[:space:]]+//')")
  done < <(grep -noE "$mention" "$file" || true)
done < <(find . -name '*.cpp' -o -name '*.hpp' | sort)

# The linker's share: no CLI target links the store module itself.
if [ -f CMakeLists.txt ]; then
  while IFS= read -r hit; do
    violations+=("cli/CMakeLists.txt:$hit")
  done < <(grep -nE 'target_link_libraries\(.*kanari_store' CMakeLists.txt || true)
fi

if [ "${#violations[@]}" -gt 0 ]; then
  echo "the command line reaches past the library's operations to the store in ${#violations[@]} place(s);" \
       "call (or add) a rollout:: operation that owns its transaction instead:" >&2
  printf '  %s\n' "${violations[@]}" >&2
  exit 1
fi
[ "$files" -gt 0 ] || { echo "no source files under $cli" >&2; exit 1; }
echo "cli/: $files files reach the store only through the library's operations"
