#include "packet.h"
#include "ntp-time.h"
#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <vector>

using namespace horloge;
using namespace horloge::netd;
using ntp::load32;
using ntp::load64;

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t RX_NS = 1'700'000'000 * S + 123'456'789;   // 2023-11-14
constexpr uint64_t CLIENT_TX = 0xe90c'5f3a'1234'5679ull;       // odd bits: copied bit for bit
constexpr uint32_t REFID_PPS = 0x50505300;                      // "PPS"

std::vector<uint8_t> packet(unsigned version, unsigned mode, size_t length = 48) {
  std::vector<uint8_t> p(length, 0);
  if (length > 0) p[0] = static_cast<uint8_t>((0 << 6) | (version << 3) | mode);
  if (length > 2) p[2] = 6;   // poll
  if (length >= 48) ntp::store64(p.data() + 40, CLIENT_TX);
  return p;
}

void appendExtension(std::vector<uint8_t>& p, uint16_t type, uint16_t length, size_t actual) {
  size_t at = p.size();
  p.resize(at + actual, 0xab);
  if (actual >= 4) {
    p[at] = type >> 8; p[at + 1] = type & 0xff;
    p[at + 2] = length >> 8; p[at + 3] = length & 0xff;
  }
}

sockaddr_in v4(const char* addr, uint16_t port = 40000) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) abort();   // also used at static init
  return sin;
}

sockaddr_in6 v6(const char* addr, uint16_t port = 40000) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) != 1) abort();
  return sin6;
}

Snapshot synced(int64_t rxNs = RX_NS, int64_t pushedMono = 1000 * S) {
  Snapshot s;
  s.pushed = true;
  s.leap = 0;
  s.stratum = 1;
  s.precision = -20;
  s.refid = REFID_PPS;
  s.referenceTime = ntp::fromUnixNs(rxNs - S / 2);
  s.rootDelay = 0;
  s.rootDispersion = 0x20;
  s.pushedMonoNs = pushedMono;
  return s;
}

const sockaddr_in CLIENT = v4("192.0.2.7");

Drop run(const std::vector<uint8_t>& p, const sockaddr* source, Reply& reply,
         const Snapshot& state = synced(), uint32_t random = 0x5a5a5a5a) {
  Request req{p.data(), p.size(), false, RX_NS, source, random};
  ServerHeader h = makeHeader(state, state.pushedMonoNs, 7200 * S);
  Drop d = prepareReply(req, h, reply);
  if (d == Drop::NONE) stampTransmit(reply, RX_NS + 20'000, 0xa5a5a5a5);
  return d;
}

Drop run(const std::vector<uint8_t>& p, Reply& reply) {
  return run(p, reinterpret_cast<const sockaddr*>(&CLIENT), reply);
}

Drop drop(const std::vector<uint8_t>& p) {
  Reply reply;
  return run(p, reply);
}

Drop fromSource(const sockaddr* source) {
  Reply reply;
  return run(packet(4, 3), source, reply);
}

}  // namespace

TEST_CASE("a client request gets a server reply with the same version") {
  for (unsigned version = 1; version <= 4; ++version) {
    Reply r;
    REQUIRE(run(packet(version, 3), r) == Drop::NONE);
    CHECK((r.bytes[0] >> 6) == 0);                    // LI from the state
    CHECK(((r.bytes[0] >> 3) & 7) == version);
    CHECK((r.bytes[0] & 7) == 4);
    CHECK(r.bytes[1] == 1);                         // stratum
    CHECK(r.bytes[2] == 6);                         // poll echoed
    CHECK(static_cast<int8_t>(r.bytes[3]) == -20);  // precision
    CHECK(load32(r.bytes + 4) == 0);                // root delay
    CHECK(load32(r.bytes + 8) == 0x20);             // root dispersion (no time since the push)
    CHECK(load32(r.bytes + 12) == REFID_PPS);
    CHECK(load64(r.bytes + 16) == synced().referenceTime);
    CHECK(load64(r.bytes + 24) == CLIENT_TX);       // origin = client's transmit
  }
  CHECK(sizeof(Reply) == 48);
}

TEST_CASE("receive and transmit: rounded down, random below the precision, ordered") {
  Reply r;
  REQUIRE(run(packet(4, 3), r) == Drop::NONE);
  uint64_t rx = load64(r.bytes + 32), tx = load64(r.bytes + 40), ref = load64(r.bytes + 16);
  uint64_t mask = (1ull << 12) - 1;   // precision -20: the 12 low fraction bits are noise
  CHECK((rx & ~mask) == (ntp::fromUnixNs(RX_NS) & ~mask));
  CHECK((rx & mask) == (0x5a5a5a5au & mask));
  CHECK((tx & ~mask) == (ntp::fromUnixNs(RX_NS + 20'000) & ~mask));
  CHECK((tx & mask) == (0xa5a5a5a5u & mask));
  CHECK(ntp::diffSeconds(rx, ref) >= 0);
  CHECK(ntp::diffSeconds(tx, rx) > 0);
  // Never late: above the precision, transmit is the clock reading rounded down.
  CHECK(ntp::toUnixNs(tx & ~mask, RX_NS) <= RX_NS + 20'000);
  int64_t rxBack = ntp::toUnixNs(rx, RX_NS);
  CHECK(rxBack >= RX_NS - 1000);
  CHECK(rxBack < RX_NS + 1000);

  SUBCASE("different random words give different low bits") {
    Reply a, b;
    auto p = packet(4, 3);
    REQUIRE(run(p, reinterpret_cast<const sockaddr*>(&CLIENT), a, synced(), 1) == Drop::NONE);
    REQUIRE(run(p, reinterpret_cast<const sockaddr*>(&CLIENT), b, synced(), 2) == Drop::NONE);
    CHECK(load64(a.bytes + 32) != load64(b.bytes + 32));
  }
}

TEST_CASE("receive never after transmit, reference never after receive") {
  auto p = packet(4, 3);
  Snapshot s = synced();
  s.precision = -10;   // 22 random bits: a wide interval where rx and tx can cross
  ServerHeader h = makeHeader(s, s.pushedMonoNs, 7200 * S);

  SUBCASE("same precision interval, random bits would put receive after transmit") {
    Request req{p.data(), p.size(), false, RX_NS,
                reinterpret_cast<const sockaddr*>(&CLIENT), 0xffffffff};
    Reply r;
    REQUIRE(prepareReply(req, h, r) == Drop::NONE);
    stampTransmit(r, RX_NS, 0);
    CHECK(ntp::diffSeconds(load64(r.bytes + 40), load64(r.bytes + 32)) >= 0);
  }
  SUBCASE("the clock stepped back between receive and transmit") {
    Request req{p.data(), p.size(), false, RX_NS,
                reinterpret_cast<const sockaddr*>(&CLIENT), 0};
    Reply r;
    REQUIRE(prepareReply(req, h, r) == Drop::NONE);
    stampTransmit(r, RX_NS - 2 * S, 0);
    CHECK(load64(r.bytes + 32) == load64(r.bytes + 40));
    CHECK(ntp::diffSeconds(load64(r.bytes + 32), load64(r.bytes + 16)) >= 0);
  }
  SUBCASE("a reference time in the future is pulled back to receive") {
    Snapshot f = synced();
    f.referenceTime = ntp::fromUnixNs(RX_NS + 5 * S);
    Reply r;
    REQUIRE(run(p, reinterpret_cast<const sockaddr*>(&CLIENT), r, f) == Drop::NONE);
    CHECK(load64(r.bytes + 16) == load64(r.bytes + 32));
  }
  SUBCASE("a zero reference time stays zero") {
    Snapshot z = synced();
    z.referenceTime = 0;
    Reply r;
    REQUIRE(run(p, reinterpret_cast<const sockaddr*>(&CLIENT), r, z) == Drop::NONE);
    CHECK(load64(r.bytes + 16) == 0);
  }
}

TEST_CASE("modes other than client are dropped") {
  for (unsigned mode: {0u, 1u, 2u, 4u, 5u, 6u, 7u}) {
    CAPTURE(mode);
    CHECK(drop(packet(4, mode)) == Drop::MODE);
    CHECK(drop(packet(1, mode)) == Drop::MODE);
  }
}

TEST_CASE("versions 0 and 5..7 are dropped") {
  for (unsigned version: {0u, 5u, 6u, 7u}) {
    CAPTURE(version);
    CHECK(drop(packet(version, 3)) == Drop::VERSION);
  }
}

TEST_CASE("short, ragged and truncated datagrams are dropped") {
  for (size_t length: {0, 1, 12, 44, 47, 49, 50, 51, 53, 70}) {
    CAPTURE(length);
    CHECK(drop(packet(4, 3, length)) == Drop::LENGTH);
  }
  auto p = packet(4, 3);
  Request req{p.data(), p.size(), true, RX_NS, reinterpret_cast<const sockaddr*>(&CLIENT), 0};
  Reply r;
  CHECK(prepareReply(req, makeHeader(synced(), 0, 7200 * S), r) == Drop::LENGTH);
}

TEST_CASE("extension fields (v4)") {
  SUBCASE("a well-formed unknown field is ignored, not echoed") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 16, 16);
    appendExtension(p, 0x7777, 32, 32);
    Reply r;
    CHECK(run(p, r) == Drop::NONE);
    CHECK(sizeof(r.bytes) == 48);
  }
  SUBCASE("a single last field of 28 bytes") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 28, 28);
    CHECK(drop(p) == Drop::NONE);
  }
  SUBCASE("length 0") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 0, 16);
    CHECK(drop(p) == Drop::EXTENSION);
  }
  SUBCASE("length below 16") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 12, 16);
    CHECK(drop(p) == Drop::EXTENSION);
  }
  SUBCASE("length not a multiple of 4") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 18, 28);
    CHECK(drop(p) == Drop::EXTENSION);
  }
  SUBCASE("running past the end") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 64, 32);
    CHECK(drop(p) == Drop::EXTENSION);
  }
  SUBCASE("a second field running past the end") {
    auto p = packet(4, 3);
    appendExtension(p, 0x0104, 16, 16);
    appendExtension(p, 0x0104, 40, 28);
    CHECK(drop(p) == Drop::EXTENSION);
  }
  SUBCASE("leftover bytes too short for a field") {
    for (size_t extra: {8, 12}) {
      auto p = packet(4, 3, 48 + extra);
      CHECK(drop(p) == Drop::EXTENSION);
    }
  }
  SUBCASE("v1..v3 carry no extension fields") {
    for (unsigned version = 1; version <= 3; ++version) {
      auto p = packet(version, 3);
      appendExtension(p, 0x0104, 16, 16);
      CHECK(drop(p) == Drop::EXTENSION);
    }
  }
}

TEST_CASE("a MAC means an unknown key: dropped, never a crypto-NAK") {
  for (unsigned version: {3u, 4u}) {
    CAPTURE(version);
    CHECK(drop(packet(version, 3, 48 + 4)) == Drop::AUTH);    // crypto-NAK
    CHECK(drop(packet(version, 3, 48 + 20)) == Drop::AUTH);   // key id + MD5
    CHECK(drop(packet(version, 3, 48 + 24)) == Drop::AUTH);   // key id + SHA-1
  }
  auto p = packet(4, 3);
  appendExtension(p, 0x0104, 16, 16);
  p.resize(p.size() + 20, 0);
  CHECK(drop(p) == Drop::AUTH);
}

TEST_CASE("sources that are never answered") {
  auto check = [](auto addr, Drop expected) {
    CHECK(fromSource(reinterpret_cast<const sockaddr*>(&addr)) == expected);
  };
  check(v4("192.0.2.7", 0), Drop::SOURCE);
  check(v4("0.0.0.0"), Drop::SOURCE);
  check(v4("0.1.2.3"), Drop::SOURCE);
  check(v4("255.255.255.255"), Drop::SOURCE);
  check(v4("224.0.0.1"), Drop::SOURCE);
  check(v4("239.255.255.250"), Drop::SOURCE);
  check(v6("::"), Drop::SOURCE);
  check(v6("ff02::101"), Drop::SOURCE);
  check(v6("ff0e::1"), Drop::SOURCE);
  check(v6("2001:db8::1", 0), Drop::SOURCE);
  check(v6("::ffff:224.0.0.1"), Drop::SOURCE);
  check(v6("::ffff:255.255.255.255"), Drop::SOURCE);
  check(v6("::ffff:0.0.0.0"), Drop::SOURCE);

  check(v4("192.0.2.7"), Drop::NONE);
  check(v4("127.0.0.1"), Drop::NONE);
  check(v4("223.255.255.255"), Drop::NONE);
  check(v6("2001:db8::1"), Drop::NONE);
  check(v6("::1"), Drop::NONE);
  check(v6("::ffff:192.0.2.7"), Drop::NONE);

  sockaddr unix{};
  unix.sa_family = AF_UNIX;
  check(unix, Drop::SOURCE);
}

TEST_CASE("own addresses hook") {
  auto p = packet(4, 3);
  Request req{p.data(), p.size(), false, RX_NS, reinterpret_cast<const sockaddr*>(&CLIENT), 0};
  req.fromOwnAddress = true;
  Reply r;
  CHECK(prepareReply(req, makeHeader(synced(), 0, 7200 * S), r) == Drop::OWN_ADDRESS);
}

TEST_CASE("header: before any push, ageing, holdover") {
  SUBCASE("never pushed: LI=3, stratum 16, INIT") {
    Snapshot s;
    s.precision = -23;
    ServerHeader h = makeHeader(s, 5 * S, 7200 * S);
    CHECK(h.leap == 3);
    CHECK(h.stratum == 16);
    CHECK(h.refid == REFID_INIT);
    CHECK(h.referenceTime == 0);
    CHECK(h.precision == -23);
    Reply r;
    REQUIRE(run(packet(4, 3), reinterpret_cast<const sockaddr*>(&CLIENT), r, s) == Drop::NONE);
    CHECK((r.bytes[0] >> 6) == 3);
    CHECK(r.bytes[1] == 16);
    CHECK(load32(r.bytes + 12) == 0x494e4954);
    CHECK(memcmp(r.bytes + 12, "INIT", 4) == 0);
  }
  SUBCASE("root dispersion grows at 15 ppm since the push, rounded up") {
    Snapshot s = synced(RX_NS, 100 * S);
    CHECK(makeHeader(s, 100 * S, 7200 * S).rootDispersion == 0x20);
    // 1000 s -> 15 ms = 983.04 units of 2^-16 s -> 984.
    CHECK(makeHeader(s, 1100 * S, 7200 * S).rootDispersion == 0x20 + 984);
    // 1 s -> 15 µs = 0.98 units -> 1.
    CHECK(makeHeader(s, 101 * S, 7200 * S).rootDispersion == 0x20 + 1);
    // A clock going backwards (it cannot, but) adds nothing.
    CHECK(makeHeader(s, 50 * S, 7200 * S).rootDispersion == 0x20);
    ServerHeader h = makeHeader(s, 1100 * S, 7200 * S);
    CHECK(h.leap == 0);
    CHECK(h.stratum == 1);
  }
  SUBCASE("a slew not ended when planned: the dispersion grows at its rate from then") {
    Snapshot s = synced(RX_NS, 100 * S);
    s.slewRate = 0.08;                    // 80,000 ppm beyond the correction kept
    s.slewEndMonoNs = 102 * S;
    CHECK(makeHeader(s, 102 * S, 7200 * S).rootDispersion == 0x20 + 2);   // 15 ppm of 2 s
    // 50 ms late: 4 ms more (262.1 units -> 263), on top of 15 ppm of 2.05 s (2.02 -> 3).
    CHECK(makeHeader(s, 102 * S + 50'000'000, 7200 * S).rootDispersion == 0x20 + 3 + 263);
    // 20 days late: 1.6 days, beyond the format's 18 hours: saturates.
    CHECK(makeHeader(s, 20 * 86400 * S, 7200 * S).rootDispersion == 0xffffffff);
    s.slewRate = 0;
    CHECK(makeHeader(s, 103 * S, 7200 * S).rootDispersion == 0x20 + 3);
  }
  SUBCASE("dispersion saturates") {
    Snapshot s = synced(RX_NS, 0);
    s.rootDispersion = 0xfffffff0;
    CHECK(makeHeader(s, 3600 * S, 7200 * S).rootDispersion == 0xffffffff);
    s.rootDispersion = 0;
    CHECK(makeHeader(s, 200LL * 86400 * S, 400LL * 86400 * S).rootDispersion == 0xffffffff);
  }
  SUBCASE("past maxholdover: LI=3, stratum 16, refid kept") {
    Snapshot s = synced(RX_NS, 0);
    ServerHeader in = makeHeader(s, 7200 * S, 7200 * S);
    CHECK(in.leap == 0);
    CHECK(in.stratum == 1);
    ServerHeader out = makeHeader(s, 7200 * S + 1, 7200 * S);
    CHECK(out.leap == 3);
    CHECK(out.stratum == 16);
    CHECK(out.refid == REFID_PPS);
    CHECK(out.rootDispersion == 0x20 + 7078);   // 7200 s * 15e-6 * 65536 = 7077.9, rounded up
  }
  SUBCASE("leap indicators pass through; unsynchronised forms become LI=3 stratum 16") {
    Snapshot s = synced();
    s.leap = 1;
    CHECK(makeHeader(s, s.pushedMonoNs, 7200 * S).leap == 1);
    s.leap = 2;
    CHECK(makeHeader(s, s.pushedMonoNs, 7200 * S).leap == 2);
    s.leap = 3;
    CHECK(makeHeader(s, s.pushedMonoNs, 7200 * S).stratum == 16);
    s = synced();
    s.stratum = 0;   // a kiss code on the wire: never sent by accident
    ServerHeader h = makeHeader(s, s.pushedMonoNs, 7200 * S);
    CHECK(h.stratum == 16);
    CHECK(h.leap == 3);
    s.stratum = 2;
    CHECK(makeHeader(s, s.pushedMonoNs, 7200 * S).stratum == 2);
  }
}

TEST_CASE("the 2036 era rollover") {
  // NTP era 0 ends at Unix 2085978496 (2036-02-07 06:28:16 UTC).
  constexpr int64_t ROLLOVER = 2'085'978'496LL * S;
  int64_t rxNs = ROLLOVER + S / 2;
  Snapshot s = synced(rxNs);
  s.referenceTime = ntp::fromUnixNs(ROLLOVER - S);   // era 0, one second before the end
  CHECK((s.referenceTime >> 32) == 0xffffffffu);
  auto p = packet(4, 3);
  uint64_t clientTx = ntp::fromUnixNs(rxNs - 3 * S / 1000) ^ 0x3;   // era 1, odd low bits
  ntp::store64(p.data() + 40, clientTx);

  Request req{p.data(), p.size(), false, rxNs, reinterpret_cast<const sockaddr*>(&CLIENT), 7};
  Reply r;
  REQUIRE(prepareReply(req, makeHeader(s, s.pushedMonoNs, 7200 * S), r) == Drop::NONE);
  stampTransmit(r, rxNs + 15'000, 9);
  uint64_t ref = load64(r.bytes + 16), org = load64(r.bytes + 24);
  uint64_t rx = load64(r.bytes + 32), tx = load64(r.bytes + 40);
  CHECK(org == clientTx);
  CHECK((rx >> 32) == 0);                  // era 1, second 0
  CHECK((tx >> 32) == 0);
  CHECK(ref == s.referenceTime);         // before receive on the NTP circle: not clamped
  CHECK(ntp::diffSeconds(rx, ref) > 1.4);
  CHECK(ntp::diffSeconds(rx, ref) < 1.6);
  CHECK(ntp::diffSeconds(tx, rx) >= 0);
  // Within one precision step (2^-20 s, 954 ns) of the clock readings, in the right era.
  CHECK(std::abs(ntp::toUnixNs(rx, rxNs) - rxNs) < 954);
  CHECK(std::abs(ntp::toUnixNs(tx, rxNs) - (rxNs + 15'000)) < 954);

  SUBCASE("a reference time after the rollover while receive is before it is pulled back") {
    int64_t before = ROLLOVER - S / 4;
    Snapshot late = synced(before);
    late.referenceTime = ntp::fromUnixNs(ROLLOVER + S);   // era 1, "after" on the circle
    Request q{p.data(), p.size(), false, before, reinterpret_cast<const sockaddr*>(&CLIENT), 0};
    Reply r2;
    REQUIRE(prepareReply(q, makeHeader(late, late.pushedMonoNs, 7200 * S), r2) == Drop::NONE);
    stampTransmit(r2, before + 10'000, 0);
    CHECK(load64(r2.bytes + 16) == load64(r2.bytes + 32));
    CHECK((load64(r2.bytes + 32) >> 32) == 0xffffffffu);
  }
}

TEST_CASE("respond() reads the transmit clock once, after preparing the reply") {
  struct Clock { int calls = 0; int64_t ns = RX_NS + 50'000; } clock;
  auto p = packet(4, 3);
  Request req{p.data(), p.size(), false, RX_NS, reinterpret_cast<const sockaddr*>(&CLIENT), 11};
  Reply r;
  Snapshot s = synced();
  Drop d = respond(req, s, s.pushedMonoNs, 7200 * S, r,
                   [](void* c) { auto* k = static_cast<Clock*>(c); ++k->calls; return k->ns; },
                   &clock);
  CHECK(d == Drop::NONE);
  CHECK(clock.calls == 1);
  uint64_t mask = (1ull << 12) - 1;
  CHECK((load64(r.bytes + 40) & ~mask) == (ntp::fromUnixNs(clock.ns) & ~mask));

  auto bad = packet(4, 6);
  Request q{bad.data(), bad.size(), false, RX_NS, reinterpret_cast<const sockaddr*>(&CLIENT), 0};
  CHECK(respond(q, s, s.pushedMonoNs, 7200 * S, r,
                [](void* c) { ++static_cast<Clock*>(c)->calls; return int64_t(0); },
                &clock) == Drop::MODE);
  CHECK(clock.calls == 1);
}

TEST_CASE("a RATE kiss-o'-death: stratum 0, LI=3, origin copied, no timestamps, 48 bytes") {
  for (unsigned version: {3u, 4u}) {
    auto p = packet(version, 3);
    sockaddr_in from = v4("192.0.2.10");
    Request request{p.data(), p.size(), false, RX_NS, reinterpret_cast<sockaddr*>(&from), 77};
    Reply reply;
    REQUIRE(prepareReply(request, makeHeader(synced(), 1000 * S, 7200 * S), reply) == Drop::NONE);
    makeKissOfDeath(reply);
    stampTransmit(reply, RX_NS + 1000, 99);   // must leave a KoD alone
    const uint8_t* r = reply.bytes;
    CHECK(sizeof(reply.bytes) == 48);
    CHECK(r[0] == ((3 << 6) | (version << 3) | 4));
    CHECK(r[1] == 0);
    CHECK(load32(r + 12) == 0x52415445);   // "RATE"
    CHECK(load64(r + 16) == 0);
    CHECK(load64(r + 24) == CLIENT_TX);
    CHECK(load64(r + 32) == 0);
    CHECK(load64(r + 40) == 0);
  }
  CHECK(std::string(dropName(Drop::DENIED)) == "denied");
}
