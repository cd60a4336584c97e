// What the platform gives the rest of the code: word sizes, a time_t and off_t wide enough past
// 2038 (the armhf build asks for them, CMakeLists.txt), alignment of data shared with other
// programs, and the C library and the kernel carrying a time past 2038. It exists for the ARM
// builds (tests/cross-unit.sh runs it under qemu-user) and runs on every target.
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

using namespace horloge;

namespace {
constexpr int64_t Y2038 = int64_t(1) << 31;   // 2038-01-19 03:14:08 UTC: a 32-bit time_t ends
constexpr int64_t Y2040 = 2'208'988'800;       // 2040-01-01 00:00:00 UTC
constexpr int64_t Y2106 = int64_t(1) << 32;    // 2106-02-07 06:28:16 UTC: an unsigned one ends
}  // namespace

TEST_CASE("platform: word size and the width of time") {
  utsname u{};
  REQUIRE(uname(&u) == 0);
  MESSAGE("platform: " << u.machine << ": pointer " << sizeof(void*) * 8 << " bits, long "
          << sizeof(long) * 8 << ", time_t " << sizeof(time_t) * 8 << ", off_t "
          << sizeof(off_t) * 8 << ", alignof(int64_t) " << alignof(int64_t)
          << ", alignof(double) " << alignof(double));
  static_assert(sizeof(time_t) == 8, "a 32-bit time_t ends in 2038: build with _TIME_BITS=64");
  static_assert(sizeof(timespec{}.tv_sec) == 8);
  static_assert(sizeof(off_t) == 8);
  static_assert(sizeof(void*) == sizeof(long));   // ILP32 or LP64, as on every Linux target
  CHECK(std::numeric_limits<time_t>::max() > INT32_MAX);
  // Nanoseconds since 1970 in an int64, the unit of every timestamp here, last until 2262.
  CHECK(std::numeric_limits<int64_t>::max() / ntp::NS_PER_S > Y2106 * 2);
}

TEST_CASE("platform: the C library past 2038") {
  for (int64_t t: {Y2038 - 1, Y2038, Y2040, Y2106}) {
    CAPTURE(t);
    time_t tt = static_cast<time_t>(t);
    tm parts{};
    REQUIRE(gmtime_r(&tt, &parts) != nullptr);
    CHECK(int64_t(timegm(&parts)) == t);
  }
  time_t y2040 = Y2040;
  tm parts{};
  REQUIRE(gmtime_r(&y2040, &parts) != nullptr);
  char text[32];
  REQUIRE(strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &parts) > 0);
  CHECK(std::string(text) == "2040-01-01T00:00:00");
}

TEST_CASE("platform: the kernel stores and returns a time past 2038") {
  // A file's modification time through futimens and fstat (utimensat_time64 and statx on
  // armhf): the kernel's 64-bit time interfaces, without touching any clock.
  char path[] = "/tmp/horloge-platform-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  timespec times[2] = {{static_cast<time_t>(Y2040), 0},
                       {static_cast<time_t>(Y2040 + 1), 500'000'000}};
  int set = futimens(fd, times);
  struct stat st{};
  int got = fstat(fd, &st);
  close(fd);
  unlink(path);
  REQUIRE(set == 0);
  REQUIRE(got == 0);
  CHECK(int64_t(st.st_mtim.tv_sec) == Y2040 + 1);
  CHECK(st.st_mtim.tv_nsec == 500'000'000);
  timespec now{};
  REQUIRE(clock_gettime(CLOCK_REALTIME, &now) == 0);
  CHECK(ntp::toNs(now) > int64_t(1'700'000'000) * ntp::NS_PER_S);
}

TEST_CASE("platform: wire data at any alignment") {
  // Packets arrive at any offset; the big-endian helpers move bytes, never words, so no ARM
  // core traps on them.
  alignas(8) uint8_t buffer[32] = {};
  for (size_t at = 0; at < 8; ++at) {
    CAPTURE(at);
    ntp::store64(buffer + at, 0x0102030405060708ULL + at);
    CHECK(ntp::load64(buffer + at) == 0x0102030405060708ULL + at);
    ntp::store32(buffer + at + 9, 0xa0b0c0d0u);
    CHECK(ntp::load32(buffer + at + 9) == 0xa0b0c0d0u);
  }
  // 64-bit members are 8-aligned on every target (ARM EABI as x86-64; i386 would say 4): the
  // layouts of chrony's SOCK sample and NTP's SHM segment (refclockd/) depend on it.
  struct Probe { int32_t a; int64_t b; int32_t c; double d; };
  static_assert(offsetof(Probe, b) == 8 && offsetof(Probe, d) == 24 && sizeof(Probe) == 32);
}
