#include "upstreams.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <cmath>
#include <cstring>
#include <kj/debug.h>

using namespace horloge;
using namespace horloge::clockd;

namespace {
constexpr int64_t T0 = 1'750'000'000LL * ntp::NS_PER_S;
}

TEST_CASE("clock filter: samples kept as free-running phases stay true across our corrections") {
  // A clock 10 ms ahead and 20 ppm fast, slewed at -500 ppm from the start and stepped by
  // -2 ms at 6 s; a sample every 2 s. The raw offsets span milliseconds; corrected by what was
  // done since, they lie on the free-running clock's line.
  const int64_t S = ntp::NS_PER_S;
  auto removed = [](double t) { return -500e-6 * t - (t >= 6 ? 0.002 : 0); };   // C(t)
  auto freeRunning = [](double t) { return 0.010 + 20e-6 * t; };
  UpstreamSource u;
  for (int i = 0; i < 8; ++i) {
    double t = 2.0 * i;
    u.add(T0 + i * 2 * S, freeRunning(t) + removed(t), 0.0002, removed(t));
  }
  CHECK(u.filter.count() == 8);
  CHECK(u.stats.frequency == doctest::Approx(20e-6).epsilon(1e-6).scale(0));
  CHECK(u.stats.jitter < 1e-6);
  // The offset now, 3 s after the last sample, with what our corrections removed by then.
  double now = 17;
  CHECK(u.offsetAt(T0 + 17 * S, removed(now)) ==
        doctest::Approx(freeRunning(now) + removed(now)).epsilon(1e-9));
  // The window keeps the last 16.
  for (int i = 8; i < 40; ++i) u.add(T0 + i * 2 * S, freeRunning(2.0 * i), 0.0002, 0);
  CHECK(u.filter.count() == ClockFilter::SIZE);
}

TEST_CASE("clock filter: jitter on corrected offsets, delayed samples weigh less") {
  const int64_t S = ntp::NS_PER_S;
  UpstreamSource u;
  // +-10 us of noise around a clock being slewed at 500 ppm: 10 us of jitter, not milliseconds.
  for (int i = 0; i < 16; ++i) {
    double t = 2.0 * i, noise = i % 2 ? 10e-6 : -10e-6;
    u.add(T0 + i * 2 * S, 0.005 - 500e-6 * t + noise, 0.0002, -500e-6 * t);
  }
  CHECK(u.stats.jitter > 10e-6);    // the noise, with the line's two degrees of freedom
  CHECK(u.stats.jitter < 11.5e-6);
  CHECK(u.stats.jitter >= std::sqrt(u.model.base));
  // A reply queued 20 ms longer than the fastest is up to 10 ms wrong: it barely moves the line.
  UpstreamSource v;
  for (int i = 0; i < 8; ++i) v.add(T0 + i * S, 0.001, 0.0001, 0);
  v.add(T0 + 8 * S, 0.011, 0.0201, 0);
  CHECK(v.filter.minDelay() == doctest::Approx(0.0001));
  CHECK(std::fabs(v.offsetAt(T0 + 8 * S, 0) - 0.001) < 1e-6);
  CHECK(v.sigma(v.filter.newest()) > 5e-3);
  CHECK(v.sigma(v.filter.newest()) < 10e-3);
}

TEST_CASE("upstream source: the noise the delays do not explain, and the path's asymmetry") {
  const int64_t S = ntp::NS_PER_S;
  // The first samples: the fastest reply may have queued for all of its 300 us.
  UpstreamSource u;
  u.add(T0, 0, 0.0003, 0);
  CHECK(u.sigma(u.filter.newest()) == doctest::Approx(0.00015 / std::sqrt(3.0)));
  // Then 30 us of noise on every sample, whatever its delay (which varies by 2 us): the base.
  for (int i = 1; i < 200; ++i) {
    u.add(T0 + i * S, i % 2 ? 30e-6 : -30e-6, 0.0003 + (i % 3) * 1e-6, 0);
  }
  CHECK(std::sqrt(u.model.base) == doctest::Approx(30e-6).epsilon(0.1).scale(0));
  CHECK(std::fabs(u.model.asymmetry) < 0.05);
  CHECK(u.stats.jitter == doctest::Approx(31e-6).epsilon(0.1).scale(0));

  // Queueing on the way out only: each sample is late by half its excess delay. The asymmetry
  // is learnt (shrunk towards 0 by its own uncertainty) and corrected: the offset is nearer
  // the fastest samples' 1 ms than the average's 1.5 ms.
  UpstreamSource a;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 300; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;   // xorshift: a queue of 0..2 ms
    double queue = (x % 2000) * 1e-6;
    a.add(T0 + i * 16 * S, 0.001 + queue / 2, 0.0002 + queue, 0);
  }
  CHECK(a.model.asymmetry > 0.25);
  CHECK(a.model.asymmetry <= 0.5);
  CHECK(std::fabs(a.offsetAt(a.stats.atNs, 0) - 0.001) < 20e-6);
  // The corrected sample the discipline takes.
  CHECK(std::fabs(a.offsetOf(a.filter.newest()) - 0.001) < 0.0003);
}

TEST_CASE("refid of an upstream: IPv4 address, MD5 of IPv6; loops") {
  CHECK(refidOfAddress("198.18.0.1") == 0xc6120001u);
  uint32_t v6 = refidOfAddress("fd7e::1");
  CHECK(v6 != 0);
  CHECK(v6 == refidOfAddress("fd7e:0::1"));
  CHECK(refidOfAddress("not an address") == 0);
  CHECK(isLoop(0xc6120001u, {0x0a000001u, 0xc6120001u}));
  CHECK(!isLoop(0x47505300u, {0xc6120001u}));
}

TEST_CASE("relay header: stratum + 1, refid the upstream's address, distances added") {
  UpstreamSource u;
  u.heard = true;
  u.address = kj::str("198.18.0.2");
  u.stratum = 1;
  u.leap = 0;
  u.rootDelay = 0.001;
  u.rootDispersion = 0.0005;
  u.add(T0, 0.0001, 0.0004, 0);
  u.add(T0 + ntp::NS_PER_S, 0.0002, 0.0003, 0);
  u.lastNs = T0 + ntp::NS_PER_S;
  RelayHeader h = relayHeader(u, T0 + ntp::NS_PER_S);
  CHECK(h.stratum == 2);
  CHECK(h.refid == 0xc6120002u);
  CHECK(h.rootDelay == doctest::Approx(0.0013));
  CHECK(h.rootDispersion >= 0.0005);
  CHECK(u.usable(T0 + ntp::NS_PER_S));
  u.loop = true;   // its refid is one of ours: unusable
  CHECK(!u.usable(T0 + ntp::NS_PER_S));
  u.loop = false;
  u.stratum = 16;
  CHECK(!u.usable(T0 + ntp::NS_PER_S));
}

TEST_CASE("GPS versus noselect peers: alarm on a majority beyond the combined bounds") {
  Candidate gps{SourceKind::PPS, true, 0.0, 1e-6, 1e-7};
  auto peer = [](double offset) { return Candidate{SourceKind::NTP, true, offset, 0.001, 1e-4}; };
  CHECK(crossCheck(gps, {}) == nullptr);                                // nobody to ask
  CHECK(crossCheck(gps, {peer(0.0005), peer(-0.0002)}) == nullptr);     // agree
  CHECK(crossCheck(gps, {peer(0.05), peer(0.0001), peer(0.0003)}) == nullptr);   // one of three
  auto alarm = crossCheck(gps, {peer(-0.05), peer(-0.0501), peer(0.0001)});
  CHECK(strstr(KJ_ASSERT_NONNULL(alarm).cStr(), "2 of 3") != nullptr);
  CHECK(crossCheck(gps, {peer(-0.05), peer(-0.05)}) != nullptr);
  Candidate unusable = peer(-0.05);
  unusable.usable = false;
  CHECK(crossCheck(gps, {unusable, peer(0.0)}) == nullptr);
}

TEST_CASE("GPS alarm: raised after RAISE_S of disagreement, cleared after CLEAR_S of agreement") {
  const int64_t S = ntp::NS_PER_S;
  GpsAlarm a;
  auto bad = []() { return kj::str("GPS disagrees"); };
  CHECK_FALSE(a.update(bad(), T0));
  CHECK_FALSE(a.update(nullptr, T0 + 2 * S));               // a blip: the clock restarts
  CHECK_FALSE(a.update(bad(), T0 + 3 * S));
  CHECK_FALSE(a.update(bad(), T0 + 10 * S));
  CHECK_FALSE(a.raised());
  CHECK(a.update(bad(), T0 + 11 * S));                      // 8 s of disagreement
  CHECK(a.raised());
  CHECK(a.text() == "GPS disagrees");
  CHECK_FALSE(a.update(nullptr, T0 + 20 * S));
  CHECK_FALSE(a.update(nullptr, T0 + 79 * S));
  CHECK(a.raised());                                        // agreeing for 59 s only
  CHECK(a.update(nullptr, T0 + 80 * S));
  CHECK_FALSE(a.raised());
  CHECK(a.text() == "");
}
