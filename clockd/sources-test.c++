// Selection over refclocks and upstream servers as clockd runs it, and the GPS cross-check
// against the `noselect` peers, on hand-made samples.
#include "relay.h"
#include "sources.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <cstring>

using namespace horloge;
using namespace horloge::clockd;

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t T0 = 1'800'000'000LL * S;

// One reply of upstream `k` at `atNs`: its offset (local minus server), a 200 us round trip.
void reply(Sources& sources, uint8_t k, int64_t atNs, double offset, bool noselect = false,
           uint8_t stratum = 1) {
  UpstreamReport r;
  r.address = kj::str("198.18.0.", k + 1);
  r.noselect = noselect;
  r.valid = true;
  r.t1Ns = atNs - 200'000;
  r.t2Ns = r.t3Ns = atNs - 100'000 - static_cast<int64_t>(offset * 1e9);
  r.t4Ns = atNs;
  r.stratum = stratum;
  r.leap = stratum < 16 ? 0 : 3;
  r.rootDispersion = 30e-6;
  takeReport(sources.upstream(k), r, 0, 0, {});
}

// A PPS sample of refclock `id` at `atNs`.
void pps(Sources& sources, uint8_t id, int64_t atNs, double offset) {
  sources.addSample(id, atNs, offset, 1e-6, SourceKind::PPS);
}

char mark(Mark m) { return static_cast<char>(m); }

}  // namespace

TEST_CASE("sources: a lone refclock is followed while acquiring, then selected") {
  Sources s;
  CHECK(s.heard() == 0);
  CHECK(s.select(T0, 0).none());
  pps(s, 3, T0, 2e-6);
  // One sample is not usable, but it is the only source: followed, marked '?'.
  CHECK(s.select(T0, 0, SourceId::refclock(3)) == SourceId::refclock(3));
  CHECK(mark(s.refclock(3).mark) == '?');
  CHECK(s.heard() == 1);
  // Without the trigger (an upstream's sample prompted this) nothing is chosen.
  CHECK(s.select(T0, 0).none());
  for (int i = 1; i < 3; ++i) pps(s, 3, T0 + i * S, 2e-6);
  CHECK(s.select(T0 + 2 * S, 0, SourceId::refclock(3)) == SourceId::refclock(3));
  CHECK(mark(s.refclock(3).mark) == '*');
  CHECK(s.chosen() == SourceId::refclock(3));
  // Silent for 8 s: no longer usable, and no longer chosen but by its own next sample.
  CHECK(s.select(T0 + 11 * S, 0).none());
  CHECK(mark(s.refclock(3).mark) == '?');
}

TEST_CASE("sources: PPS before NMEA, each refclock's error interval") {
  Sources s;
  for (int i = 0; i < 3; ++i) {
    s.addSample(0, T0 + i * S, 0.020, 0.1, SourceKind::NMEA);   // NMEA time: 100 ms claimed
    pps(s, 1, T0 + i * S, 1e-6);
  }
  CHECK(s.select(T0 + 2 * S, 0) == SourceId::refclock(1));
  CHECK(mark(s.refclock(1).mark) == '*');
  CHECK(mark(s.refclock(0).mark) == '-');   // a PPS is combined only with PPS
  // Its error: the claim or 3 sigma of its jitter, whichever is larger, plus 1 us.
  SourceStats st = s.refclock(0).filter.stats();
  CHECK(s.refclock(0).error(st) == doctest::Approx(0.1 + 1e-6));
  CHECK(s.refclock(0).candidate(T0 + 2 * S).kind == SourceKind::NMEA);
}

TEST_CASE("sources: upstream servers when no refclock, the falseticker out, a refclock first") {
  Sources s;
  for (int i = 0; i < 4; ++i) {
    reply(s, 0, T0 + i * S, 0.050);   // 50 ms off
    reply(s, 1, T0 + i * S, 0.0001);
    reply(s, 2, T0 + i * S, -0.0001);
  }
  SourceId chosen = s.select(T0 + 3 * S, 0);
  CHECK(chosen.isUpstream());
  CHECK(chosen.index() != 0);
  CHECK(mark(s.upstreamMark(0)) == 'x');
  CHECK(steers(s.upstreamMark(1)));
  CHECK(steers(s.upstreamMark(2)));
  CHECK(mark(s.upstreamMark(3)) == '?');   // never heard from
  CHECK(s.heard() == 3);
  // The current one stays while the other is not better by the reselect distance.
  for (int i = 4; i < 8; ++i) {
    reply(s, 1, T0 + i * S, 0.0001);
    reply(s, 2, T0 + i * S, -0.0001);
  }
  CHECK(s.select(T0 + 7 * S, 0) == chosen);
  // A PPS refclock that agrees is chosen over them all.
  for (int i = 5; i < 8; ++i) pps(s, 0, T0 + i * S, 0);
  CHECK(s.select(T0 + 7 * S, 0) == SourceId::refclock(0));
}

TEST_CASE("sources: no upstream is chosen while the first to answer is no majority") {
  Sources s;
  // Server 0 answers synchronised; 1 and 2 answer but are not synchronised yet.
  for (int i = 0; i < 3; ++i) {
    reply(s, 0, T0 + i * S, 0.050);
    reply(s, 1, T0 + i * S, 0, false, 16);
    reply(s, 2, T0 + i * S, 0, false, 16);
  }
  CHECK(s.select(T0 + 2 * S, 0).none());
  CHECK(mark(s.upstreamMark(0)) == '?');
  // Past STARTUP_WAIT the one that answers is followed (nobody can tell it is wrong).
  int64_t later = T0 + static_cast<int64_t>(STARTUP_WAIT + 10) * S;
  for (int64_t t = T0 + 3 * S; t <= later; t += S) {
    reply(s, 0, t, 0.050);
    reply(s, 1, t, 0, false, 16);
    reply(s, 2, t, 0, false, 16);
  }
  CHECK(s.select(later, 0) == SourceId::upstream(0));
}

TEST_CASE("sources: the GPS cross-check raises, holds and clears its alarm") {
  Sources s;
  // A PPS refclock 50 ms off (spoofed from the start), two noselect peers that agree.
  auto second = [&](int i, double gps) {
    pps(s, 0, T0 + i * S, gps);
    reply(s, 4, T0 + i * S, 0, true);
    reply(s, 5, T0 + i * S, 0.0002, true);
    return s.select(T0 + i * S, 0, SourceId::refclock(0));
  };
  // Usable from its third sample; the disagreement must last RAISE_S before the alarm.
  int i = 0;
  for (; i < 3 + GpsAlarm::RAISE_S - 1; ++i) CHECK(second(i, 0.050) == SourceId::refclock(0));
  CHECK(mark(s.refclock(0).mark) == '*');
  CHECK(mark(s.upstreamMark(4)) == 'x');   // noselect, and disagrees with the GPS
  CHECK_FALSE(s.gpsAlarm().raised());
  CHECK(second(i++, 0.050).none());
  CHECK(s.gpsAlarm().raised());
  CHECK(strstr(s.gpsAlarm().text().cStr(), "2 of 2 noselect peers") != nullptr);
  CHECK(mark(s.refclock(0).mark) == 'x');
  // The GPS is right again: the alarm holds for CLEAR_S of agreement, then clears.
  int back = i;
  while (second(i, 0).none() && i < back + 300) ++i;
  CHECK(i - back >= GpsAlarm::CLEAR_S);
  CHECK(i - back < GpsAlarm::CLEAR_S + 20);
  CHECK_FALSE(s.gpsAlarm().raised());
  CHECK(s.chosen() == SourceId::refclock(0));
  CHECK(mark(s.refclock(0).mark) == '*');
  CHECK(mark(s.upstreamMark(4)) == '-');   // agrees: watched, never used
}
