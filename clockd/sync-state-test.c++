#include "ntp-time.h"
#include "sync-state.h"
#include <doctest/doctest.h>

using namespace horloge;
using namespace horloge::clockd;
constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t T0 = 1'800'000'000 * S;

TEST_CASE("sync state: lock, holdover, unsynchronised, relock") {
  SyncParams p;
  p.maxHoldover = 60;
  SyncStateMachine m(p);
  CHECK(m.state() == Sync::UNSYNCHRONISED);
  CHECK(m.header(T0).leap == 3);
  CHECK(m.header(T0).stratum == 16);
  CHECK(m.header(T0).refid == refidFromText("INIT"));

  SourceStats st;
  st.jitter = 1e-6;
  for (int i = 0; i < 5; ++i) m.onSample(st, T0 + i * S);
  CHECK_FALSE(m.tick(T0 + 5 * S));
  CHECK(m.state() == Sync::UNSYNCHRONISED);
  CHECK(m.reason() == "reference clock acquiring (5 of 6 samples)");
  m.onSample(st, T0 + 5 * S);
  CHECK(m.tick(T0 + 5 * S));
  CHECK(m.state() == Sync::LOCKED);
  ServerHeader h = m.header(T0 + 5 * S);
  CHECK(h.leap == 0);
  CHECK(h.stratum == 1);
  CHECK(h.refid == refidFromText("PPS\0"));

  // Dispersion grows with the time since the last sample.
  CHECK(m.header(T0 + 9 * S).rootDispersion > h.rootDispersion);

  CHECK(m.tick(T0 + 11 * S));
  CHECK(m.state() == Sync::HOLDOVER);
  CHECK(m.header(T0 + 11 * S).stratum == 1);

  // Coming back needs fewer samples.
  for (int i = 0; i < 3; ++i) m.onSample(st, T0 + (20 + i) * S);
  CHECK(m.tick(T0 + 22 * S));
  CHECK(m.state() == Sync::LOCKED);

  CHECK(m.tick(T0 + 30 * S));
  CHECK(m.state() == Sync::HOLDOVER);
  CHECK(m.tick(T0 + 83 * S));
  CHECK(m.state() == Sync::UNSYNCHRONISED);
  CHECK(m.reason() == "holdover exceeded maxholdover (60 s)");
}

TEST_CASE("sync state: a gap breaks the run") {
  SyncStateMachine m({});
  SourceStats st;
  for (int i = 0; i < 5; ++i) m.onSample(st, T0 + i * S);
  m.onSample(st, T0 + 10 * S);
  CHECK(m.consecutive() == 1);
  CHECK_FALSE(m.tick(T0 + 10 * S));
}

TEST_CASE("sync state: an upstream locks after its iburst, and its poll sets the holdover delay") {
  SyncStateMachine m{SyncParams{}};
  m.setSource(kj::str("upstream 192.0.2.1"), 64, true);
  SourceStats st;
  m.onSample(st, T0);
  m.onSample(st, T0 + 2 * S);
  CHECK(m.reason() == "upstream 192.0.2.1 acquiring (2 of 3 samples)");
  m.onSample(st, T0 + 4 * S);
  CHECK(m.tick(T0 + 4 * S));
  CHECK(m.state() == Sync::LOCKED);
  CHECK(m.reason() == "upstream 192.0.2.1 locked after 3 consecutive samples");
  CHECK_FALSE(m.tick(T0 + 200 * S));                  // within 4 polls
  CHECK(m.tick(T0 + 300 * S));
  CHECK(m.reason() == "no sample from the upstream 192.0.2.1 for 296.0 s");
}

TEST_CASE("refid text: ASCII at stratum 1 and 16, an address above") {
  CHECK(refidText(refidFromText("PPS\0"), 1) == "PPS");
  CHECK(refidText(refidFromText("INIT"), 16) == "INIT");
  CHECK(refidText(0xc6120803, 2) == "198.18.8.3");
  CHECK(refidText(0x01ff0000, 16) == "??");
}
