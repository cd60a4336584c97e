#include "ntp-time.h"
#include "source-filter.h"
#include <doctest/doctest.h>

using namespace horloge::clockd;

TEST_CASE("source filter: median, jitter and frequency") {
  SourceFilter f;
  CHECK(f.stats().count == 0);
  // Local clock gains 10 ppm, with +-1 us alternating noise, starting 1 ms ahead.
  for (int i = 0; i < 16; ++i) {
    double noise = (i % 2 ? 1e-6 : -1e-6);
    f.add({int64_t(i) * horloge::ntp::NS_PER_S, 1e-3 + i * 10e-6 + noise, 1e-6});
  }
  SourceStats s = f.stats();
  CHECK(s.count == 16);
  CHECK(s.frequency == doctest::Approx(10).epsilon(0.01));
  CHECK(s.jitter == doctest::Approx(1e-6).epsilon(0.05).scale(0));
  CHECK(s.offset == doctest::Approx(1e-3 + 13 * 10e-6).epsilon(1e-3).scale(0));
  CHECK(s.lastLocalNs == 15'000'000'000);
}

TEST_CASE("source filter: one wild sample does not move the median") {
  SourceFilter f;
  for (int i = 0; i < 5; ++i) f.add({int64_t(i) * horloge::ntp::NS_PER_S, i == 2 ? 0.5 : 1e-6, 1e-6});
  CHECK(f.stats().offset == doctest::Approx(1e-6).scale(0));
  CHECK(f.total() == 5);
}

TEST_CASE("source filter: reach register of a once-a-second source, as chronyc reads it") {
  SourceFilter f;
  constexpr int64_t S = 1'000'000'000;
  int64_t t0 = 1'700'000'000 * S;
  CHECK(f.reach(t0) == 0);
  for (int i = 0; i < 10; ++i) f.add({t0 + i * S, 0, 1e-6});
  CHECK(f.reach(t0 + 9 * S + S / 2) == 0377);          // every second: 377
  CHECK(f.newestOffset() == 0);
  CHECK(f.reach(t0 + 12 * S + S / 2) == 0370);         // three seconds of silence
  CHECK(f.reach(t0 + 30 * S) == 0);
}
