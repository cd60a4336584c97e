#!/bin/sh
# The unit tests cross-built for ARCH (arm64 or armhf, as Debian's cross toolchains and
# multiarch libraries build the .deb) in a separate tree kept between runs, and run by CTest
# under qemu-user-static (CMAKE_CROSSCOMPILING_EMULATOR). What they add on ARM: another word
# size (armhf: 32-bit long and pointers, with the 64-bit time_t and off_t CMakeLists.txt asks
# for), alignment (8-byte double and int64 on ARM EABI), time arithmetic past 2036 and 2038.
# qemu-user cannot load a seccomp filter: sandbox-test says so and skips what needs one (the
# booted package test, arm_package_test.py, runs the real filters on an emulated ARM kernel).
#   usage: cross-unit.sh ARCH SOURCE_DIR TREE_DIR
# Exit 77 (skipped) when the cross toolchain, ARCH's libraries or qemu-user-static are missing.
set -eu
arch=$1
src=$2
tree=$3
case $arch in
  arm64) triplet=aarch64-linux-gnu; processor=aarch64; qemu=qemu-aarch64-static ;;
  armhf) triplet=arm-linux-gnueabihf; processor=arm; qemu=qemu-arm-static ;;
  *) echo "cross-unit: unknown architecture $arch (arm64, armhf)"; exit 2 ;;
esac

missing=""
for tool in "$triplet-g++" "$triplet-pkg-config" "$qemu"; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
for pc in capnp libseccomp libcap libsystemd openssl; do
  [ -e "/usr/lib/$triplet/pkgconfig/$pc.pc" ] || missing="$missing $pc.pc($arch)"
done
if [ -n "$missing" ]; then
  echo "cross-unit: SKIP: missing$missing (scripts/install-deps test, or packaging/README.md)"
  exit 77
fi

echo "cross-unit: $arch tree $tree"
# ccache across clones of the tree (CI builds a fresh one each run): paths relative to it, the
# build directory left out of the hash (only the debug info's directory differs).
export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=true
cmake -S "$src" -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHORLOGE_SANITIZE=OFF -DHORLOGE_FUZZ=OFF \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$processor \
  -DCMAKE_C_COMPILER="$triplet-gcc" -DCMAKE_CXX_COMPILER="$triplet-g++" \
  -DPKG_CONFIG_EXECUTABLE="/usr/bin/$triplet-pkg-config" \
  -DCMAKE_CROSSCOMPILING_EMULATOR="/usr/bin/$qemu" >"$tree.configure.log" 2>&1 || {
  cat "$tree.configure.log"; exit 1; }

# The unit tests that are targets (a script such as the man page check ran in the main tree).
known=$(ninja -C "$tree" -t targets all | sed -n 's/^\([^:]*\): .*/\1/p')
targets=$(cd "$tree" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: *//p' |
  while read -r t; do echo "$known" | grep -qx "$t" && echo "$t"; done || true)
[ -n "$targets" ] || { echo "cross-unit: no unit tests found in $tree"; exit 1; }
echo "cross-unit: building" $targets
# shellcheck disable=SC2086
cmake --build "$tree" -j 2 --target $targets

cd "$tree"
echo "cross-unit: $(file -b "$tree/tests/common-test" | cut -d, -f1-2), run by $qemu"
# -V: each binary's doctest summary and what it printed (platform lines, skips) go to the
# log; the lines that matter are shown, the whole log when something failed.
log=$tree/ctest-unit.log
status=0
# A test with a real-time window (refclockd-devices-test's 4 s of PPS and NMEA) can miss it
# once when the emulator shares a loaded host: one more try, and the log says so.
ctest -L unit -R "^($(echo $targets | tr ' ' '|'))\$" -E '^netd-test$' -V -j 2 \
  --repeat until-pass:2 >"$log" 2>&1 || status=$?
# qemu-user 7.2 answers setsockopt(SO_TIMESTAMPNS) with ENOPROTOOPT: the responder cases that
# open UDP sockets with kernel receive stamps are left out here. They, and the seccomp tests,
# run on an ARM kernel in the booted guest (arm_package_test.py).
gaps='responder answers over real UDP sockets*,responder: packet info only on a wildcard socket*'
gaps="$gaps,responder: interleaved replies carry the kernel TX stamp*"
gaps="$gaps,NTS: requests go through the same rate limiter as plain ones*"
# And the rate limiter's flat-memory case: the RSS it reads is the emulator's, whose code cache
# grows by 1.5 to 2 MB as the loop runs (the bound is checked natively, on amd64).
gaps="$gaps,ratelimit: memory stays flat under a million spoofed addresses*"
echo "netd-test: SKIP (qemu-user: no SO_TIMESTAMPNS; its own RSS): $gaps" >>"$log"
"/usr/bin/$qemu" "$tree/tests/netd-test" -tce="$gaps" >>"$log" 2>&1 || status=$?
grep -E '(platform|SKIP|skipped|test cases:)|tests passed|tests failed|\*\*\*' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -n 300 "$log"
  echo "cross-unit: $arch FAILED (log $log)"
fi
exit "$status"
