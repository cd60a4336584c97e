#include "interleave.h"
#include "responder.h"
#include "tx-stamps.h"
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

using namespace horloge;
using namespace horloge::netd;
using ntp::load64;
using ntp::store64;
using Outcome = InterleaveTable::Outcome;

namespace {

const uint8_t KEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

ClientKey v4(uint32_t a) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(a);
  sin.sin_port = htons(123);
  return keyOf(reinterpret_cast<sockaddr*>(&sin));
}

// A request as chrony's client in interleaved mode sends it.
void xleaveRequest(uint8_t* p, uint64_t origin, uint64_t receive, uint64_t transmit) {
  memset(p, 0, 48);
  p[0] = (4 << 3) | 3;
  store64(p + 24, origin);
  store64(p + 32, receive);
  store64(p + 40, transmit);
}

bool later(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) > 0; }

}  // namespace

TEST_CASE("wantsInterleaved: v4, odd origin (one of our receive stamps), receive != transmit") {
  uint8_t p[48];
  xleaveRequest(p, 0xe000'0000'0000'0001ull, 0x10, 0x20);
  CHECK(wantsInterleaved(p, 48));
  CHECK_FALSE(wantsInterleaved(p, 44));
  p[0] = (3 << 3) | 3;
  CHECK_FALSE(wantsInterleaved(p, 48));   // RFC 9769 is NTPv4 only
  xleaveRequest(p, 0, 0x10, 0x20);
  CHECK_FALSE(wantsInterleaved(p, 48));   // a basic client (chrony, sntp): zero origin
  xleaveRequest(p, 0xe000'0000'0000'0002ull, 0x10, 0x20);
  CHECK_FALSE(wantsInterleaved(p, 48));   // even origin: our transmit (ntpd-style client)
  xleaveRequest(p, 0xe000'0000'0000'0001ull, 0x20, 0x20);
  CHECK_FALSE(wantsInterleaved(p, 48));   // receive == transmit: not interleaved
}

TEST_CASE("makeInterleaved: origin = the request's receive, transmit = the previous reply's") {
  uint8_t req[48];
  xleaveRequest(req, 0xaaaa'aaaa'0000'0001ull, 0xbbbb'bbbb'1234'5677ull, 0xcccc'ccccull);
  Reply reply{};
  store64(reply.bytes + 24, 0xcccc'ccccull);   // as prepareReply left it (basic origin)
  store64(reply.bytes + 32, 0xdddd'dddd'0000'0000ull);
  makeInterleaved(reply, req, 0xdddd'dd00'0000'0006ull);
  CHECK(load64(reply.bytes + 24) == 0xbbbb'bbbb'1234'5677ull);   // bit for bit
  CHECK(load64(reply.bytes + 32) == 0xdddd'dddd'0000'0000ull);   // this request's RX
  CHECK(load64(reply.bytes + 40) == 0xdddd'dd00'0000'0006ull);
  flagTimestamps(reply, true);
  CHECK(load64(reply.bytes + 32) == 0xdddd'dddd'0000'0001ull);
  // Interleaved: transmit (an earlier reply) stays before receive.
  CHECK(load64(reply.bytes + 40) == 0xdddd'dd00'0000'0006ull);
}

TEST_CASE("flagTimestamps: receive odd, transmit even, basic order kept") {
  Reply r{};
  store64(r.bytes + 16, 0x1000'0000'0000'0000ull);
  store64(r.bytes + 32, 0x2000'0000'0000'0010ull);
  store64(r.bytes + 40, 0x2000'0000'0000'0021ull);
  flagTimestamps(r, false);
  CHECK(load64(r.bytes + 32) == 0x2000'0000'0000'0011ull);
  CHECK(load64(r.bytes + 40) == 0x2000'0000'0000'0020ull);

  SUBCASE("same value: receive steps back below transmit, reference follows") {
    store64(r.bytes + 16, 0x3000'0000'0000'0000ull);
    store64(r.bytes + 32, 0x3000'0000'0000'0000ull);
    store64(r.bytes + 40, 0x3000'0000'0000'0000ull);
    flagTimestamps(r, false);
    CHECK(load64(r.bytes + 40) == 0x3000'0000'0000'0000ull);
    CHECK(load64(r.bytes + 32) == 0x2fff'ffff'ffff'ffffull);
    CHECK(load64(r.bytes + 16) == 0x2fff'ffff'ffff'ffffull);
  }
  CHECK(transmitStamp(ntp::NS_PER_S) % 2 == 0);
}

TEST_CASE("table: the third request of a new client is interleaved") {
  InterleaveTable t(64, KEY);
  CHECK(t.size() == 64);
  ClientKey c = v4(0xc6120002);
  // Request 2 (request 1 had a zero origin and never reaches the table): claims a slot.
  auto p = t.begin(c, 0x1111'0000'0000'0001ull, 100);
  REQUIRE(p.outcome == Outcome::BASIC);
  t.save(p, 0x2222'0000'0000'0001ull, 0x2222'0000'0001'0000ull);
  // The kernel stamp of that reply arrives.
  ntp::Timestamp user = 0;
  CHECK(t.kernelStamp(c, 0x2222'0000'0000'0001ull, 0x2222'0000'0001'1000ull, user));
  CHECK(user == 0x2222'0000'0001'0000ull);
  CHECK_FALSE(t.kernelStamp(c, 0x9999'0000'0000'0001ull, 1, user));   // not its last reply
  CHECK_FALSE(t.kernelStamp(v4(0xc6120003), 0x2222'0000'0000'0001ull, 1, user));
  // Request 3: origin = receive of reply 2.
  p = t.begin(c, 0x2222'0000'0000'0001ull, 101);
  CHECK(p.outcome == Outcome::INTERLEAVED);
  CHECK(p.previousTx == 0x2222'0000'0001'1000ull);
  t.save(p, 0x3333'0000'0000'0001ull, 0x3333'0000'0001'0000ull);
  // No kernel stamp this time: the user-space one is handed out instead.
  p = t.begin(c, 0x3333'0000'0000'0001ull, 102);
  CHECK(p.outcome == Outcome::INTERLEAVED);
  CHECK(p.previousTx == 0x3333'0000'0001'0000ull);
  // A stale or forged origin gets a basic reply.
  p = t.begin(c, 0x2222'0000'0000'0001ull, 103);
  CHECK(p.outcome == Outcome::BASIC);
}

TEST_CASE("table: fixed size; full buckets fall back to basic, idle ways are evicted") {
  InterleaveTable t(4, KEY);   // one bucket of four ways: every client collides
  for (uint32_t i = 0; i < 4; ++i) {
    CHECK(t.begin(v4(0x0a000001 + i), 1, 100).outcome == Outcome::BASIC);
  }
  auto p = t.begin(v4(0x0a0000ff), 1, 100 + InterleaveTable::EVICT_AFTER_S - 1);
  CHECK(p.outcome == Outcome::FULL);
  t.save(p, 5, 6);   // harmless
  // Keep client 1 active; once the others have been idle long enough, the newcomer gets one.
  CHECK(t.begin(v4(0x0a000001), 1, 150).outcome == Outcome::BASIC);
  p = t.begin(v4(0x0a0000ff), 1, 100 + InterleaveTable::EVICT_AFTER_S);
  CHECK(p.outcome == Outcome::BASIC);
  t.save(p, 0x77, 0x78);
  CHECK(t.begin(v4(0x0a0000ff), 0x77, 170).outcome == Outcome::INTERLEAVED);
  CHECK(t.begin(v4(0x0a000001), 1, 170).outcome == Outcome::BASIC);   // still has its slot
}

TEST_CASE("table: a million spoofed addresses leave it as it was sized") {
  InterleaveTable t(1024, KEY);
  unsigned full = 0;
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    if (t.begin(v4(0x0b000000 + i), 1, 1000).outcome == Outcome::FULL) ++full;
  }
  CHECK(t.size() == 1024);
  CHECK(full == 1'000'000 - 1024);
}

TEST_CASE("parseLoopedReply: our reply and its client from a looped IPv4 or IPv6 packet") {
  uint8_t reply[48] = {};
  reply[0] = (4 << 3) | 4;
  store64(reply + 32, 0x1234'5678'9abc'def1ull);
  store64(reply + 40, 0x1234'5678'9abc'df00ull);
  ClientKey k;
  ntp::Timestamp rx, tx;

  uint8_t f4[14 + 20 + 8 + 48] = {};
  f4[14] = 0x45;
  f4[14 + 9] = IPPROTO_UDP;
  uint8_t dst4[4] = {198, 18, 0, 2};
  memcpy(f4 + 14 + 16, dst4, 4);
  memcpy(f4 + 14 + 28, reply, 48);
  REQUIRE(parseLoopedReply(f4, sizeof(f4), k, rx, tx));
  CHECK(k == v4(0xc6120002));
  CHECK(rx == 0x1234'5678'9abc'def1ull);
  CHECK(tx == 0x1234'5678'9abc'df00ull);

  uint8_t f6[14 + 40 + 8 + 48] = {};
  f6[14] = 0x60;
  f6[14 + 6] = IPPROTO_UDP;
  in6_addr dst6;
  inet_pton(AF_INET6, "fd7e::2", &dst6);
  memcpy(f6 + 14 + 24, &dst6, 16);
  memcpy(f6 + 14 + 48, reply, 48);
  REQUIRE(parseLoopedReply(f6, sizeof(f6), k, rx, tx));
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = dst6;
  CHECK(k == keyOf(reinterpret_cast<sockaddr*>(&sin6)));

  f6[14 + 6] = 6;   // TCP: not ours
  CHECK_FALSE(parseLoopedReply(f6, sizeof(f6), k, rx, tx));
  CHECK_FALSE(parseLoopedReply(f4, 60, k, rx, tx));   // too short for a reply
}

TEST_CASE("responder: interleaved replies carry the kernel TX stamp of the previous reply") {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) == 0);
  socklen_t len = sizeof(server);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&server), &len) == 0);

  StateCell cell;
  ResponderOptions options;
  options.workersPerSocket = 2;   // the stamp may be read by the other worker
  auto responder = kj::heap<Responder>(kj::arrayPtr(&fd, 1), cell, options);

  int client = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(client >= 0);
  int64_t t1 = 0;
  auto exchange = [&](const uint8_t* request, uint8_t* reply, int64_t& t4) {
    t1 = realtimeNs();
    REQUIRE(sendto(client, request, 48, 0, reinterpret_cast<sockaddr*>(&server),
                   sizeof(server)) == 48);
    pollfd p{client, POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    REQUIRE(recv(client, reply, 48, 0) == 48);
    t4 = realtimeNs();
  };

  // Chrony's sequence: basic first, then origin = the server's last receive stamp.
  uint8_t req[48], reply[48];
  int64_t t4;
  xleaveRequest(req, 0, 0, 0x0123'4567'89ab'cdefull);
  exchange(req, reply, t4);
  CHECK(load64(reply + 24) == 0x0123'4567'89ab'cdefull);
  CHECK(load64(reply + 32) % 2 == 1);
  CHECK(load64(reply + 40) % 2 == 0);

  unsigned interleaved = 0;
  for (int i = 0; i < 5; ++i) {
    uint64_t prevRx = load64(reply + 32);
    int64_t prevT1 = t1, prevT4 = t4;
    uint64_t myRx = ntp::fromUnixNs(t4);
    xleaveRequest(req, prevRx, myRx, 0x0123'4567'89ab'cdefull + i + 1);
    usleep(20'000);
    exchange(req, reply, t4);
    if (load64(reply + 24) == myRx) {   // an interleaved reply echoes our receive field
      ++interleaved;
      // The previous reply's transmit: within the previous exchange, before this receive.
      int64_t tx = ntp::toUnixNs(load64(reply + 40), t4);
      CHECK(tx >= prevT1);
      CHECK(tx <= prevT4);
      CHECK(later(load64(reply + 32), load64(reply + 40)));
    } else {
      CHECK(i == 0);   // only the second request, which claims the slot, is basic
      CHECK(load64(reply + 24) == 0x0123'4567'89ab'cdefull + i + 1);
    }
  }
  CHECK(interleaved == 4);
  ResponderStats st = responder->stats();
  CHECK(st[NetdCounter::INTERLEAVED] == 4);
  CHECK(st[NetdCounter::KERNEL_TX_STAMPS] >= 4);
  responder = nullptr;   // workers joined before their socket goes
  close(client);
  close(fd);
}
