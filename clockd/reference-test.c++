// The header clockd advertises in each sync state, and the error it claims.
#include "reference.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <kj/string.h>

using namespace horloge;
using namespace horloge::clockd;

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t T0 = 1'800'000'000LL * S;

// A state machine locked on six samples a second apart, the last at T0 + 5 s.
SyncStateMachine locked() {
  SyncStateMachine m{SyncParams{}};
  SourceStats st;
  st.jitter = 1e-6;
  for (int i = 0; i < 6; ++i) m.onSample(st, T0 + i * S);
  m.tick(T0 + 5 * S);
  REQUIRE(m.state() == Sync::LOCKED);
  return m;
}

HeaderInputs disciplined(const SyncStateMachine& m, int64_t nowNs, SourceKind kind) {
  HeaderInputs in;
  in.base = m.header(nowNs);
  in.disciplined = true;
  in.reference = {SourceId::refclock(0), kind, kind == SourceKind::PPS ? 1e-6 : 0.1};
  in.ownError = 5e-6;
  return in;
}

}  // namespace

TEST_CASE("header: unsynchronised, whatever else is known") {
  SyncStateMachine m{SyncParams{}};
  HeaderInputs in = disciplined(m, T0, SourceKind::PPS);
  in.disciplined = false;   // unsynchronised, or the discipline has no sample yet
  in.announce = LeapAction::INSERT;
  in.relay = RelayHeader{2, 0xc6120002u, 0.001, 0.001};
  ServerHeader h = advertisedHeader(in);
  CHECK(h.leap == 3);
  CHECK(h.stratum == 16);
  CHECK(h.refid == refidFromText("INIT"));
  CHECK(h.rootDispersion == 0);
  CHECK(starting(false, h, false));     // netd may keep a previous clockd's state
  CHECK_FALSE(starting(true, h, false));
  CHECK_FALSE(starting(false, h, true));
}

TEST_CASE("header: locked to PPS, locked to NMEA") {
  SyncStateMachine m = locked();
  ServerHeader h = advertisedHeader(disciplined(m, T0 + 5 * S, SourceKind::PPS));
  CHECK(h.leap == 0);
  CHECK(h.stratum == 1);
  CHECK(h.refid == refidFromText("PPS\0"));
  CHECK(h.referenceTime == ntp::fromUnixNs(T0 + 5 * S));
  CHECK(h.rootDelay == 0);
  CHECK(h.rootDispersion == ntp::shortFromSeconds(5e-6));
  CHECK_FALSE(starting(false, h, false));

  HeaderInputs in = disciplined(m, T0 + 5 * S, SourceKind::NMEA);
  ServerHeader n = advertisedHeader(in);
  CHECK(n.stratum == 1);
  CHECK(n.refid == refidFromText("NMEA"));
  CHECK(kj::StringPtr(servedKind(in.reference)) == "nmea");
}

TEST_CASE("header: holdover keeps stratum 1 with the error of its coasting") {
  SyncStateMachine m = locked();
  CHECK(m.tick(T0 + 20 * S));
  REQUIRE(m.state() == Sync::HOLDOVER);
  HeaderInputs in = disciplined(m, T0 + 20 * S, SourceKind::PPS);
  in.ownError = 40e-6;
  ServerHeader h = advertisedHeader(in);
  CHECK(h.leap == 0);
  CHECK(h.stratum == 1);
  CHECK(h.refid == refidFromText("PPS\0"));
  CHECK(h.referenceTime == ntp::fromUnixNs(T0 + 5 * S));   // the last sample's time
  CHECK(h.rootDispersion == ntp::shortFromSeconds(40e-6));
}

TEST_CASE("header: a relay advertises its upstream's stratum + 1 and root distance") {
  SyncStateMachine m = locked();
  HeaderInputs in = disciplined(m, T0 + 5 * S, SourceKind::PPS);
  in.reference.source = SourceId::upstream(3);
  in.relay = RelayHeader{2, 0xc6120002u, 0.0013, 0.0006};
  in.gpsAlarm = true;   // a relay does not claim stratum 1: the GPS alarm changes nothing
  ServerHeader h = advertisedHeader(in);
  CHECK(h.leap == 0);
  CHECK(h.stratum == 2);
  CHECK(h.refid == 0xc6120002u);
  CHECK(h.rootDelay == ntp::shortFromSeconds(0.0013));
  CHECK(ntp::secondsFromShort(h.rootDispersion) == doctest::Approx(0.0006 + 5e-6).epsilon(1e-3));
  CHECK(kj::StringPtr(servedKind(in.reference)) == "ntp");
  // An upstream that lost its own source: stratum 16, so unsynchronised.
  in.relay = RelayHeader{16, 0xc6120002u, 0.0013, 0.0006};
  CHECK(advertisedHeader(in).leap == 3);
}

TEST_CASE("header: a GPS alarm takes stratum 1 away") {
  SyncStateMachine m = locked();
  HeaderInputs in = disciplined(m, T0 + 5 * S, SourceKind::PPS);
  in.gpsAlarm = true;
  in.announce = LeapAction::INSERT;
  ServerHeader h = advertisedHeader(in);
  CHECK(h.leap == 3);
  CHECK(h.stratum == 16);
  CHECK(h.refid == refidFromText("PPS\0"));   // where the time came from, as netd keeps it
  // Unsynchronised because of the alarm: not 'starting' (netd must not keep an older state).
  CHECK_FALSE(starting(false, h, true));
}

TEST_CASE("header: a leap second announced") {
  SyncStateMachine m = locked();
  HeaderInputs in = disciplined(m, T0 + 5 * S, SourceKind::PPS);
  in.announce = LeapAction::INSERT;
  CHECK(advertisedHeader(in).leap == 1);
  in.announce = LeapAction::DELETE;
  CHECK(advertisedHeader(in).leap == 2);
  in.reference.source = SourceId::upstream(0);
  in.relay = RelayHeader{3, 0xc6120002u, 0.001, 0.001};
  CHECK(advertisedHeader(in).leap == 2);
}

TEST_CASE("own error: the refclock's claim, the noise and the discipline's bound; unslewed") {
  Discipline d;
  double t = T0 * 1e-9;
  for (int i = 0; i < 30; ++i) d.update(t + i, 0, 1e-6);
  double now = t + 29;
  Reference pps{SourceId::refclock(0), SourceKind::PPS, 1e-6};
  Reference nmea{SourceId::refclock(1), SourceKind::NMEA, 0.1};
  Reference relay{SourceId::upstream(0), SourceKind::PPS, 0.1};
  double bound = d.estimate().jitter + d.errorBound(now);
  CHECK(ownError(pps, d, now) == doctest::Approx(1e-6 + bound));
  CHECK(ownError(nmea, d, now) == doctest::Approx(0.1 + bound));
  CHECK(ownError(relay, d, now) == doctest::Approx(bound));   // its root distance comes apart
  // The bound grows while nothing is heard.
  CHECK(ownError(pps, d, now + 600) > ownError(pps, d, now) + 500e-6);
  // Converged: nothing left to slew. A new sample 10 ms off: 10 ms left, beyond 1 ms.
  CHECK(unslewed(d, now, 1e-3) == 0);
  d.update(now + 1, 0.010, 1e-6);
  CHECK(unslewed(d, now + 1, 1e-3) == doctest::Approx(0.010).epsilon(0.2));
}
