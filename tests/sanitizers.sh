#!/bin/sh
# The unit tests again, built with ASan + UBSan (-DHORLOGE_SANITIZE=ON) in a separate tree
# that is kept between runs, so later runs only rebuild what changed.
#   usage: sanitizers.sh SOURCE_DIR TREE_DIR
set -eu
src=$1
tree=$2
jobs=$(nproc 2>/dev/null || echo 2)

echo "sanitizers: tree $tree"
cmake -S "$src" -B "$tree" -G Ninja -DHORLOGE_SANITIZE=ON -DHORLOGE_FUZZ=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tree.configure.log" 2>&1 || {
  cat "$tree.configure.log"; exit 1; }

# The unit tests are the CTest entries labelled "unit"; each is named after its target (the
# others, scripts such as the man page check, need nothing built).
known=$(ninja -C "$tree" -t targets all | sed -n 's/^\([^:]*\): .*/\1/p')
targets=$(cd "$tree" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: *//p' |
  while read -r t; do echo "$known" | grep -qx "$t" && echo "$t"; done || true)
[ -n "$targets" ] || { echo "sanitizers: no unit tests found in $tree"; exit 1; }
echo "sanitizers: building" $targets
# shellcheck disable=SC2086
cmake --build "$tree" -j "$jobs" --target $targets

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$tree"
# Only what was built here: the scripts ran in the main tree.
ctest -L unit -R "^($(echo $targets | tr ' ' '|'))\$" --output-on-failure -j "$jobs"
