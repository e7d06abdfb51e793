#!/bin/sh
# `cmake --install` into a temporary prefix, then use only what was
# installed: run the kanari binary, build the C example with pkg-config and
# with find_package(kanari), and run both against a store.
#   test_install.sh BUILD_DIR SOURCE_DIR LIBDIR CC CMAKE
set -eu
build=$1
src=$2
libdir=$3
cc=$4
cmake=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/kanari include/kanari/kanari.h "$libdir/libkanari.so" "$libdir/pkgconfig/kanari.pc" \
         "$libdir/cmake/kanari/kanariConfig.cmake"; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done

# The installed binary runs on its own: it links the library's modules
# statically (libkanari.so holds no command-line code).
"$prefix/bin/kanari" --version
if ldd "$prefix/bin/kanari" | grep -q "libkanari"; then
  echo "the installed kanari loads libkanari.so, which holds no command line:" >&2; ldd "$prefix/bin/kanari" >&2; exit 1
fi

# pkg-config.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
cflags=$(pkg-config --cflags kanari)
libs=$(pkg-config --libs kanari)
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$src/examples/c/route_and_record.c" $libs \
  -Wl,-rpath,"$prefix/$libdir" -o "$work/route_and_record"
"$src/tests/capi/run_c_example.sh" "$prefix/bin/kanari" "$work/route_and_record"

# find_package(kanari).
"$cmake" -S "$src/examples/cmake_consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; exit 1; }
"$cmake" --build "$work/consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; exit 1; }
"$src/tests/capi/run_c_example.sh" "$prefix/bin/kanari" "$work/consumer/route_and_record"
echo "installed kanari works through pkg-config and find_package"
