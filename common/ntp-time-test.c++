#include "ntp-time.h"
#include <doctest/doctest.h>

using namespace horloge::ntp;

TEST_CASE("ntp time: Unix epoch and fraction") {
  CHECK(fromUnixNs(0) == uint64_t(UNIX_TO_NTP) << 32);
  CHECK((fromUnixNs(500'000'000) & 0xffffffffu) == 0x80000000u);
  // Rounded down: never later than the true instant.
  CHECK(toUnixNs(fromUnixNs(123'456'789), 0) <= 123'456'789);
  CHECK(toUnixNs(fromUnixNs(123'456'789), 0) >= 123'456'788);
}

TEST_CASE("ntp time: 2036 era rollover") {
  // 2036-02-07 06:28:16 UTC is NTP second 2^32, i.e. era 1 second 0.
  const int64_t rollover = (int64_t(1) << 32) - UNIX_TO_NTP;   // Unix seconds
  Timestamp justBefore = fromUnixNs((rollover - 1) * NS_PER_S);
  Timestamp justAfter = fromUnixNs((rollover + 1) * NS_PER_S);
  CHECK((justBefore >> 32) == 0xffffffffu);
  CHECK((justAfter >> 32) == 1);
  // Either side of the rollover, the pivot chooses the right era.
  CHECK(toUnixNs(justAfter, (rollover - 10) * NS_PER_S) == (rollover + 1) * NS_PER_S);
  CHECK(toUnixNs(justBefore, (rollover + 10) * NS_PER_S) == (rollover - 1) * NS_PER_S);
  CHECK(diffSeconds(justAfter, justBefore) == doctest::Approx(2.0));
  CHECK(diffSeconds(justBefore, justAfter) == doctest::Approx(-2.0));
  // Far from the pivot (60 years) still resolves to the nearest era.
  int64_t t2090 = int64_t(3'800'000'000) * NS_PER_S;
  CHECK(toUnixNs(fromUnixNs(t2090), t2090 - 60LL * 365 * 86400 * NS_PER_S) == t2090);
}

TEST_CASE("ntp time: short format and precision") {
  CHECK(shortFromSeconds(0) == 0);
  CHECK(shortFromSeconds(-1) == 0);
  CHECK(shortFromSeconds(1.0) == 0x10000u);
  CHECK(shortFromSeconds(1e-9) == 1);        // rounded up, never understated
  CHECK(shortFromSeconds(1e9) == 0xffffffffu);
  CHECK(secondsFromShort(0x8000) == doctest::Approx(0.5));
  CHECK(precisionFromNs(1) == -30);
  CHECK(precisionFromNs(1000) == -20);
}

TEST_CASE("ntp time: big-endian helpers") {
  uint8_t b[8];
  store64(b, 0x0102030405060708ULL);
  CHECK(b[0] == 1);
  CHECK(b[7] == 8);
  CHECK(load64(b) == 0x0102030405060708ULL);
}

TEST_CASE("ntp time: past 2038, in era 1") {
  // 2040-01-01: past the end of a 32-bit time_t (2038-01-19) and in NTP era 1 (2036-02-07 on).
  const int64_t t = 2'208'988'800;
  timespec ts = toTimespec(t * NS_PER_S + 5);
  CHECK(int64_t(ts.tv_sec) == t);
  CHECK(ts.tv_nsec == 5);
  CHECK(toNs(ts) == t * NS_PER_S + 5);
  Timestamp stamp = fromUnixNs(t * NS_PER_S);
  CHECK((stamp >> 32) == uint64_t(t + UNIX_TO_NTP - (int64_t(1) << 32)));
  CHECK(toUnixNs(stamp, t * NS_PER_S) == t * NS_PER_S);
  // A pivot in era 0 (today) still puts it in era 1: within 68 years.
  CHECK(toUnixNs(stamp, int64_t(1'750'000'000) * NS_PER_S) == t * NS_PER_S);
  CHECK(diffSeconds(fromUnixNs((t + 1) * NS_PER_S), fromUnixNs((t - 1) * NS_PER_S)) ==
        doctest::Approx(2.0));
  // 2106-02-07, where an unsigned 32-bit Unix time ends.
  const int64_t u32 = int64_t(1) << 32;
  CHECK(toUnixNs(fromUnixNs(u32 * NS_PER_S + 250'000'000), u32 * NS_PER_S) ==
        u32 * NS_PER_S + 250'000'000);
}
