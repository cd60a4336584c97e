#!/bin/sh
# Builds the libFuzzer targets (fuzz/) with clang in a separate tree kept between runs, and runs
# each for a bounded time on a scratch copy of its seed corpus fuzz/corpus/<target>/: generated
# inputs and crash artifacts stay in the tree, never in the repository.
#   usage: fuzz.sh SOURCE_DIR TREE_DIR       (HORLOGE_FUZZ_SECONDS: per target, default 20)
# Exit 77 (skipped) without clang or its libFuzzer runtime; 1 if any target finds a crash.
set -eu
src=$1
tree=$2
seconds=${HORLOGE_FUZZ_SECONDS:-20}
jobs=$(nproc 2>/dev/null || echo 2)
targets="netd-packet-fuzz nmea-fuzz ubx-fuzz config-fuzz leap-file-fuzz state-files-fuzz ipc-messages-fuzz ntske-fuzz netd-nts-fuzz"

if ! command -v clang >/dev/null 2>&1 || ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: SKIP: clang is not installed (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe/probe.c++"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.c++" -o "$probe/probe" 2>"$probe/err"; then
  cat "$probe/err"
  echo "fuzz: SKIP: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
  exit 77
fi

echo "fuzz: tree $tree"
CC=clang CXX=clang++ cmake -S "$src" -B "$tree" -G Ninja -DHORLOGE_FUZZ=ON -DHORLOGE_SANITIZE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tree.configure.log" 2>&1 || {
  cat "$tree.configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$tree" -j "$jobs" --target $targets

run="$tree/fuzz-run"
rm -rf "$run"
mkdir -p "$run/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=""
for t in $targets; do
  cp -r "$src/fuzz/corpus/$t" "$run/$t"
  echo "fuzz: $t for ${seconds}s on a copy of fuzz/corpus/$t"
  if "$tree/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$run/artifacts/$t-" "$run/$t" >"$run/$t.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
      "$run/$t.log" | sed "s/^/fuzz: $t: /"
  else
    tail -n 60 "$run/$t.log"
    echo "fuzz: $t FAILED; log $run/$t.log, reproducer in $run/artifacts/:"
    ls -l "$run/artifacts/" || true
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: FAILED:$failed"
  exit 1
fi
echo "fuzz: no crash in$(printf ' %s' $targets)"
