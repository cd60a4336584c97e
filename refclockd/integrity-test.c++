#include "integrity.h"
#include <doctest/doctest.h>

using namespace horloge::refclock;
constexpr int64_t S = horloge::ntp::NS_PER_S;
constexpr int64_t T0 = 1'780'000'000 * S;   // 2026
constexpr int64_t BUILD = 1'770'000'000 * S;

namespace {
struct MemoryStore: LastGoodStore {
  int64_t value = 0;
  int saves = 0;
  int64_t load() override { return value; }
  void save(int64_t v) override { value = v; ++saves; }
};
Paired at(int64_t sys, int64_t ref) { return Paired{sys, ref, 0}; }
}  // namespace

TEST_CASE("integrity: a consistent receiver passes and its last-good time is persisted") {
  MemoryStore store;
  Integrity g(BUILD, &store);
  ClockHint none;
  for (int i = 0; i < 5; ++i) CHECK(g.check(at(T0 + i * S + 300, T0 + i * S), none, T0 + i * S));
  CHECK(g.anomaly().size() == 0);
  CHECK(store.value == T0);          // saved on the first good sample, then every minute
  CHECK(g.lastGoodNs() == T0 + 4 * S);
}

TEST_CASE("integrity: week rollover, build date, last-good, steps, system clock") {
  ClockHint none;
  SUBCASE("week rollover against the system clock clockd vouches for") {
    Integrity g(BUILD, nullptr);
    ClockHint synced{true, 0, T0};
    CHECK_FALSE(g.check(at(T0, T0 - Integrity::WEEK_ROLLOVER_NS), synced, T0));
    CHECK(g.anomaly() == "week rollover (-1024 weeks)");
  }
  SUBCASE("an unvouched system clock is no reference: the build date catches the rollover") {
    Integrity g(BUILD, nullptr);
    CHECK_FALSE(g.check(at(T0, T0 - Integrity::WEEK_ROLLOVER_NS), none, T0));
    CHECK(g.anomaly() == "week rollover (-1024 weeks)");
  }
  SUBCASE("before the build date") {
    Integrity g(BUILD, nullptr);
    CHECK_FALSE(g.check(at(T0, BUILD - 86400 * S), none, T0));
    CHECK(g.anomaly() == "time before the build date");
  }
  SUBCASE("before the persisted last-good time") {
    MemoryStore store;
    store.value = T0;
    Integrity g(BUILD, &store);
    CHECK_FALSE(g.check(at(T0 - 3600 * S, T0 - 3600 * S), none, T0));
    CHECK(g.anomaly() == "time before the last-good time");
  }
  SUBCASE("a one-second step, then recovery after consistent samples") {
    Integrity g(BUILD, nullptr);
    CHECK(g.check(at(T0, T0), none, T0));
    CHECK_FALSE(g.check(at(T0 + S, T0 + 2 * S), none, T0 + S));
    CHECK(g.anomaly() == "time step (1 s)");
    CHECK(g.anomalies() == 1);
    int fed = 0;
    for (int i = 2; i < 2 + Integrity::RECOVER_SAMPLES; ++i)
      fed += g.check(at(T0 + i * S, T0 + (i + 1) * S), none, T0 + i * S);
    CHECK(fed == 1);                 // only the tenth consistent one
    CHECK(g.anomaly().size() == 0);
  }
  SUBCASE("the wrong second against a synced clockd never recovers by itself") {
    Integrity g(BUILD, nullptr);
    ClockHint synced{true, 0, T0};
    for (int i = 0; i < 20; ++i) {
      synced.receivedNs = T0 + i * S;
      CHECK_FALSE(g.check(at(T0 + i * S, T0 + (i + 1) * S), synced, T0 + i * S));
    }
    CHECK(g.anomaly() == "wrong second (1 s from the system clock)");
    CHECK(g.anomalies() == 1);
  }
}

TEST_CASE("integrity: a clock without RTC is not the receiver's judge") {
  // A Pi boots an hour (or 19.6 years: 1024 weeks) off; the receiver is right.
  for (int64_t off: {int64_t(3600) * S, -Integrity::WEEK_ROLLOVER_NS}) {
    Integrity g(BUILD, nullptr);
    ClockHint none;
    for (int i = 0; i < 5; ++i) CHECK(g.check(at(T0 + off + i * S, T0 + i * S), none, T0 + off));
    CHECK(g.anomaly().size() == 0);
    // Once clockd has learnt the offset it vouches for the clock, through its estimate.
    ClockHint synced{true, off, T0 + off};
    CHECK(g.check(at(T0 + off + 5 * S, T0 + 5 * S), synced, T0 + off + 5 * S));
    CHECK(g.anomaly().size() == 0);
  }
}

TEST_CASE("integrity: clockd's own step is not the receiver's time step") {
  Integrity g(BUILD, nullptr);
  ClockHint hint{true, 30 * S, T0, 0};
  CHECK(g.check(at(T0 + 30 * S, T0), hint, T0));
  // clockd steps the clock back by 30 s (makestep) and says so in its next hint.
  hint = {true, 0, T0 + S, 1};
  CHECK(g.check(at(T0 + S, T0 + S), hint, T0 + S));
  CHECK(g.anomaly().size() == 0);
  // Without the step count the same jump is an anomaly.
  Integrity h(BUILD, nullptr);
  ClockHint same{true, 0, T0};
  CHECK(h.check(at(T0, T0), same, T0));
  CHECK_FALSE(h.check(at(T0 + 31 * S, T0 + S), ClockHint{}, T0 + S));
  CHECK(h.anomaly() == "time step (-30 s)");
}
