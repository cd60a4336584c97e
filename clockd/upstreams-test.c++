#include "upstreams.h"
#include <doctest/doctest.h>

using namespace horloge::clockd;

namespace {
constexpr int64_t T0 = 1'750'000'000LL * 1'000'000'000;
}

TEST_CASE("clock filter: the minimum-delay sample of the last 8") {
  ClockFilter f;
  CHECK(!f.best());
  f.add({T0, 0.010, 0.030});
  f.add({T0 + 1, 0.001, 0.002});
  f.add({T0 + 2, 0.020, 0.050});
  CHECK(f.best()->offset == doctest::Approx(0.001));
  for (int i = 0; i < 8; ++i) f.add({T0 + 10 + i, 0.005, 0.004});
  // The 2 ms sample has left the window of 8.
  CHECK(f.best()->delay == doctest::Approx(0.004));
  CHECK(f.count() == 8);
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
  u.address = "198.18.0.2";
  u.stratum = 1;
  u.leap = 0;
  u.rootDelay = 0.001;
  u.rootDispersion = 0.0005;
  u.filter.add({T0, 0.0001, 0.0004});
  u.filter.add({T0 + 1'000'000'000, 0.0002, 0.0003});
  u.lastNs = T0 + 1'000'000'000;
  RelayHeader h = relayHeader(u, T0 + 1'000'000'000);
  CHECK(h.stratum == 2);
  CHECK(h.refid == 0xc6120002u);
  CHECK(h.rootDelay == doctest::Approx(0.0013));
  CHECK(h.rootDispersion >= 0.0005);
  CHECK(u.usable(T0 + 1'000'000'000));
  u.loop = true;   // its refid is one of ours: unusable
  CHECK(!u.usable(T0 + 1'000'000'000));
  u.loop = false;
  u.stratum = 16;
  CHECK(!u.usable(T0 + 1'000'000'000));
}

TEST_CASE("GPS versus noselect peers: alarm on a majority beyond the combined bounds") {
  Candidate gps{SourceKind::PPS, true, 0.0, 1e-6, 1e-7};
  auto peer = [](double offset) { return Candidate{SourceKind::NTP, true, offset, 0.001, 1e-4}; };
  CHECK(crossCheck(gps, {}).empty());                                   // nobody to ask
  CHECK(crossCheck(gps, {peer(0.0005), peer(-0.0002)}).empty());        // agree
  CHECK(crossCheck(gps, {peer(0.05), peer(0.0001), peer(0.0003)}).empty());   // one of three
  std::string a = crossCheck(gps, {peer(-0.05), peer(-0.0501), peer(0.0001)});
  CHECK(a.find("2 of 3") != std::string::npos);
  CHECK(!crossCheck(gps, {peer(-0.05), peer(-0.05)}).empty());
  Candidate unusable = peer(-0.05);
  unusable.usable = false;
  CHECK(crossCheck(gps, {unusable, peer(0.0)}).empty());
}

TEST_CASE("GPS alarm: raised after RAISE_S of disagreement, cleared after CLEAR_S of agreement") {
  const int64_t S = 1'000'000'000;
  GpsAlarm a;
  std::string bad = "GPS disagrees";
  CHECK_FALSE(a.update(bad, T0));
  CHECK_FALSE(a.update("", T0 + 2 * S));                    // a blip: the clock restarts
  CHECK_FALSE(a.update(bad, T0 + 3 * S));
  CHECK_FALSE(a.update(bad, T0 + 10 * S));
  CHECK_FALSE(a.raised());
  CHECK(a.update(bad, T0 + 11 * S));                        // 8 s of disagreement
  CHECK(a.raised());
  CHECK(a.text() == bad);
  CHECK_FALSE(a.update("", T0 + 20 * S));
  CHECK_FALSE(a.update("", T0 + 79 * S));
  CHECK(a.raised());                                        // agreeing for 59 s only
  CHECK(a.update("", T0 + 80 * S));
  CHECK_FALSE(a.raised());
}
