#include "pairing.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <kj/debug.h>

using namespace horloge::refclock;
constexpr int64_t S = horloge::ntp::NS_PER_S;
constexpr int64_t MS = 1'000'000;

TEST_CASE("pairing: an edge takes the second of the sentence after it, once") {
  Pairing p(0);
  ClockHint none;
  CHECK(p.onTime(100, 100 * S) == nullptr);             // no edge yet
  CHECK(p.onEdge(100 * S + 1500, none, 100 * S) == nullptr);
  auto got = p.onTime(100, 100 * S + 200 * MS);
  Paired s = KJ_ASSERT_NONNULL(got);
  CHECK(s.systemTimeNs == 100 * S + 1500);
  CHECK(s.referenceTimeNs == 100 * S);
  CHECK(s.nmeaDelayNs == 200 * MS - 1500);
  CHECK_FALSE(s.ppsOnly);
  CHECK(p.onTime(100, 100 * S + 210 * MS) == nullptr);   // ZDA after RMC: same edge
  CHECK(p.meanDelayNs() == 200 * MS - 1500);
}

TEST_CASE("pairing: a sentence too late for its edge is refused") {
  Pairing p(280 * MS);
  ClockHint none;
  p.onEdge(100 * S, none, 100 * S);
  CHECK(p.onTime(100, 101 * S) == nullptr);
  p.onEdge(101 * S, none, 101 * S);
  auto got = p.onTime(101, 101 * S + 300 * MS);
  Paired s = KJ_ASSERT_NONNULL(got);
  CHECK(s.referenceTimeNs == 101 * S + 280 * MS);
}

TEST_CASE("pairing: refused near the half-second ambiguity, counted once per edge") {
  Pairing p(0);
  ClockHint none;
  p.onEdge(100 * S, none, 100 * S);
  CHECK(p.onTime(100, 100 * S + 450 * MS) == nullptr);
  CHECK(p.onTime(100, 100 * S + 460 * MS) == nullptr);
  CHECK(p.refused() == 1);
  CHECK(p.ambiguous());
  p.onEdge(101 * S, none, 101 * S);
  CHECK(p.onTime(101, 101 * S + 390 * MS) != nullptr);
  CHECK_FALSE(p.ambiguous());
  p.onEdge(102 * S, none, 102 * S);
  CHECK(p.onTime(102, 102 * S + 610 * MS) != nullptr);
}

TEST_CASE("pairing: PPS alone only while clockd's clock is within 0.4 s") {
  Pairing p(0);
  ClockHint unsynced;
  ClockHint synced{true, 3 * MS, 100 * S};
  p.onEdge(100 * S + 2 * MS, synced, 100 * S);
  // No NMEA for edge 100: the next edge numbers it from the clock.
  auto got = p.onEdge(101 * S + 2 * MS, synced, 101 * S);
  Paired s = KJ_ASSERT_NONNULL(got);
  CHECK(s.ppsOnly);
  CHECK(s.systemTimeNs == 100 * S + 2 * MS);
  CHECK(s.referenceTimeNs == 100 * S);
  CHECK(p.ppsOnly() == 1);
  CHECK(p.onEdge(102 * S, unsynced, 102 * S) == nullptr);           // clockd not synced
  synced.receivedNs = 90 * S;
  CHECK(p.onEdge(103 * S, synced, 103 * S) == nullptr);              // hint too old
  // An edge 0.45 s off clockd's second: refused rather than rounded.
  ClockHint fresh{true, 0, 104 * S};
  p.onEdge(104 * S + 450 * MS, fresh, 104 * S);
  CHECK(p.onEdge(105 * S + 450 * MS, fresh, 105 * S) == nullptr);
}
