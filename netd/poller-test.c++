#include "poller.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <cstring>

using namespace horloge;
using namespace horloge::netd;

namespace {

constexpr int64_t T0 = 1'750'000'000LL * ntp::NS_PER_S;

ServerConf conf(int minpoll = 4, int maxpoll = 6, bool iburst = false) {
  ServerConf c;
  c.address = "198.18.0.1";
  c.minpoll = minpoll;
  c.maxpoll = maxpoll;
  c.iburst = iburst;
  return c;
}

// A server's reply to `request`: origin = the request's transmit.
void reply(const uint8_t* request, uint8_t* out, uint8_t stratum = 1, uint32_t refid = 0x47505300) {
  memset(out, 0, 48);
  out[0] = (0 << 6) | (4 << 3) | 4;
  out[1] = stratum;
  ntp::store32(out + 12, refid);
  memcpy(out + 24, request + 40, 8);
  ntp::store64(out + 32, ntp::fromUnixNs(T0 + 1'000'000));
  ntp::store64(out + 40, ntp::fromUnixNs(T0 + 1'000'100));
}

}  // namespace

TEST_CASE("poller: request carries only version, mode, poll and a random transmit") {
  Poller p(conf());
  uint8_t req[48];
  p.makeRequest(req, T0, 0x1122334455667788ull);
  CHECK(req[0] == 0x23);
  CHECK(req[2] == 4);
  CHECK(ntp::load64(req + 40) == 0x1122334455667788ull);
  for (int i = 4; i < 40; ++i) CHECK(req[i] == 0);
}

TEST_CASE("poller: origin check refuses bogus, duplicate and replayed replies") {
  Poller p(conf());
  uint8_t req[48], rep[48];
  Exchange e;
  p.makeRequest(req, T0, 42);
  reply(req, rep);
  uint8_t bogus[48];
  memcpy(bogus, rep, 48);
  ntp::store64(bogus + 24, 43);
  CHECK(p.onReply(bogus, 48, T0 + 2'000'000, e) == Verdict::BOGUS);
  CHECK(p.onReply(rep, 40, T0 + 2'000'000, e) == Verdict::BOGUS);   // short
  uint8_t client[48];
  memcpy(client, rep, 48);
  client[0] = 0x23;                                                   // mode 3, not a server
  CHECK(p.onReply(client, 48, T0 + 2'000'000, e) == Verdict::BOGUS);
  REQUIRE(p.onReply(rep, 48, T0 + 2'000'000, e) == Verdict::SAMPLE);
  CHECK(e.t1Ns == T0);
  CHECK(e.t4Ns == T0 + 2'000'000);
  CHECK(std::llabs(e.t2Ns - (T0 + 1'000'000)) <= 1);
  CHECK(e.stratum == 1);
  CHECK(p.reach() == 1);
  // The same reply again (duplicate), and again after the next request (replay).
  CHECK(p.onReply(rep, 48, T0 + 3'000'000, e) == Verdict::DUPLICATE);
  p.makeRequest(req, T0 + 16'000'000'000, 99);
  CHECK(p.onReply(rep, 48, T0 + 16'100'000'000, e) == Verdict::DUPLICATE);
  CHECK(p.reach() == 2);
}

TEST_CASE("poller: poll adapts between minpoll and maxpoll, reach register shifts") {
  Poller p(conf(4, 6));
  uint8_t req[48], rep[48];
  Exchange e;
  for (int i = 0; i < 8; ++i) {
    p.makeRequest(req, T0, 100 + i);
    reply(req, rep);
    CHECK(p.onReply(rep, 48, T0 + 1000, e) == Verdict::SAMPLE);
  }
  CHECK(p.poll() == 6);
  CHECK(p.reach() == 0xff);
  for (int i = 0; i < 8; ++i) {
    p.makeRequest(req, T0, 200 + i);
    reply(req, rep);
    CHECK(p.onReply(rep, 48, T0 + 1000, e) == Verdict::SAMPLE);
  }
  CHECK(p.poll() == 6);   // never past maxpoll
  for (int i = 0; i < 5; ++i) {
    p.makeRequest(req, T0, 300 + i);
    p.onTimeout();
  }
  CHECK(p.poll() == 4);   // never below minpoll
  CHECK(p.reach() == 0xe0);
  CHECK(p.nextDelay() == 16);
}

TEST_CASE("poller: iburst sends the first 4 requests 2 s apart") {
  Poller p(conf(6, 10, true));
  uint8_t req[48];
  for (int i = 0; i < 3; ++i) {
    CHECK(p.nextDelay() == 2);
    p.makeRequest(req, T0, 1 + i);
  }
  p.makeRequest(req, T0, 9);
  CHECK(p.nextDelay() == 64);
}

TEST_CASE("poller: unsynchronised replies keep the poll down; with iburst, a new burst at sync") {
  Poller p(conf(6, 10, true));
  uint8_t req[48], rep[48];
  Exchange e;
  for (int i = 0; i < 6; ++i) {           // the burst, then polls, answered unsynchronised
    p.makeRequest(req, T0, 1 + i);
    reply(req, rep, 16, 0x494e4954);
    rep[0] |= 3 << 6;
    CHECK(p.onReply(rep, 48, T0, e) == Verdict::SAMPLE);
  }
  CHECK(p.poll() == 6);                   // 6 replies, none good: no rise
  CHECK(p.nextDelay() == 64);
  p.makeRequest(req, T0, 20);
  reply(req, rep);                        // synchronised now
  CHECK(p.onReply(rep, 48, T0, e) == Verdict::SAMPLE);
  for (int i = 0; i < 3; ++i) {
    CHECK(p.nextDelay() == 2);
    p.makeRequest(req, T0, 30 + i);
  }
  CHECK(p.nextDelay() == 64);

  Poller q(conf(6, 10, false));           // without iburst: no burst
  q.makeRequest(req, T0, 1);
  reply(req, rep, 16);
  rep[0] |= 3 << 6;
  q.onReply(rep, 48, T0, e);
  q.makeRequest(req, T0, 2);
  reply(req, rep);
  q.onReply(rep, 48, T0, e);
  CHECK(q.nextDelay() == 64);
}

TEST_CASE("poller: KoD RATE raises the poll, DENY and RSTR stop, only after the origin check") {
  Poller p(conf(4, 6));
  uint8_t req[48], rep[48];
  Exchange e;
  p.makeRequest(req, T0, 5);
  reply(req, rep, 0, KISS_DENY);
  ntp::store64(rep + 24, 6);   // forged: wrong origin
  CHECK(p.onReply(rep, 48, T0, e) == Verdict::BOGUS);
  CHECK(!p.stopped());
  reply(req, rep, 0, 0x52415445);   // RATE
  rep[2] = 8;
  CHECK(p.onReply(rep, 48, T0, e) == Verdict::KOD_RATE);
  CHECK(p.poll() == 8);
  p.makeRequest(req, T0, 7);
  p.onTimeout();
  CHECK(p.poll() == 8);   // the raised floor holds
  p.makeRequest(req, T0, 8);
  reply(req, rep, 0, KISS_RSTR);
  CHECK(p.onReply(rep, 48, T0, e) == Verdict::KOD_STOP);
  CHECK(p.stopped());
}

TEST_CASE("poller: the poll rises only while we serve synchronised time") {
  Poller p(conf(6, 10, false));
  Exchange e;
  uint8_t req[48], rep[48];
  auto good = [&](uint64_t r) {
    p.makeRequest(req, T0, r);
    reply(req, rep);
    return p.onReply(rep, 48, T0 + 1000, e);
  };
  p.ownSync(false);   // a relay still converging on these very samples
  for (uint64_t r = 1; r <= 8; ++r) CHECK(good(r) == Verdict::SAMPLE);
  CHECK(p.poll() == 6);
  CHECK(p.nextDelay() == 16);   // and polls every 16 s meanwhile
  p.ownSync(true);
  CHECK(p.nextDelay() == 64);
  for (uint64_t r = 9; r <= 12; ++r) CHECK(good(r) == Verdict::SAMPLE);
  CHECK(p.poll() == 7);
}

TEST_CASE("poller: a root delay or dispersion past 16 s is reported as 16 s") {
  Poller p(conf());
  uint8_t req[48], rep[48];
  Exchange e;
  p.makeRequest(req, T0, 7);
  reply(req, rep);
  ntp::store32(rep + 4, 0xffffffff);         // 65536 s
  ntp::store32(rep + 8, (40u << 16) | 5);    // 40 s
  REQUIRE(p.onReply(rep, 48, T0 + 2'000'000, e) == Verdict::SAMPLE);
  CHECK(e.rootDelay == (16u << 16));
  CHECK(e.rootDispersion == (16u << 16));
}
