#include "admission.h"
#include "ntp-time.h"
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

using namespace horloge;
using namespace horloge::ntskd;

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t T0 = 1000 * S;
constexpr uint32_t NO_LEAK = 1;   // a random value the leak never lets through (leak >= 1)

sockaddr_in6 peer(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
  return a;
}

Admit check(Admission& a, const char* text, int64_t now, uint32_t open = 0,
            uint32_t random = NO_LEAK) {
  auto p = peer(text);
  return a.check(reinterpret_cast<const sockaddr*>(&p), open, now, random);
}

RateLimitConf conf(int interval, int burst, int leak) {
  RateLimitConf r;
  r.enabled = true;
  r.interval = interval;
  r.burst = burst;
  r.leak = leak;
  return r;
}

}  // namespace

TEST_CASE("admission: no nts ratelimit, only maxconnections") {
  Admission a(2, keRateLimiter(RateLimitConf{}));
  for (int i = 0; i < 100; ++i) CHECK(check(a, "::ffff:198.18.0.2", T0, 1) == Admit::SESSION);
  CHECK(check(a, "::ffff:198.18.0.2", T0, 2) == Admit::BUSY);
}

TEST_CASE("admission: a burst per address, then one per 2^interval s; other addresses unaffected") {
  Admission a(100, keRateLimiter(conf(6, 3, 2)));
  // IPv4 over the dual-stack socket: the address, whatever the port.
  for (int i = 0; i < 3; ++i) CHECK(check(a, "::ffff:198.18.0.2", T0) == Admit::SESSION);
  CHECK(check(a, "::ffff:198.18.0.2", T0) == Admit::RATE_LIMITED);
  CHECK(check(a, "::ffff:198.18.0.2", T0 + 10 * S) == Admit::RATE_LIMITED);
  CHECK(check(a, "::ffff:198.18.0.3", T0) == Admit::SESSION);
  // A token back after 64 s, one only.
  CHECK(check(a, "::ffff:198.18.0.2", T0 + 64 * S) == Admit::SESSION);
  CHECK(check(a, "::ffff:198.18.0.2", T0 + 64 * S) == Admit::RATE_LIMITED);
  // The leak: a limited connection still let through when the random value says so.
  CHECK(check(a, "::ffff:198.18.0.2", T0 + 64 * S, 0, 4) == Admit::SESSION);
  // IPv6: one /64 is one client.
  for (int i = 0; i < 3; ++i) CHECK(check(a, "fd7e::2", T0) == Admit::SESSION);
  CHECK(check(a, "fd7e::ffff:3", T0) == Admit::RATE_LIMITED);
  CHECK(check(a, "fd7e:0:0:1::2", T0) == Admit::SESSION);
}

TEST_CASE("admission: the rate is checked before the slots") {
  Admission a(1, keRateLimiter(conf(6, 2, 4)));
  CHECK(check(a, "::ffff:198.18.0.2", T0, 0) == Admit::SESSION);
  CHECK(check(a, "::ffff:198.18.0.2", T0, 1) == Admit::BUSY);
  CHECK(check(a, "::ffff:198.18.0.2", T0, 1) == Admit::RATE_LIMITED);
  CHECK(check(a, "::ffff:198.18.0.2", T0, 0) == Admit::RATE_LIMITED);
}
