#include "ntp-time.h"
#include "top-clients.h"
#include <doctest/doctest.h>
#include <thread>
#include <vector>

using namespace horloge::netd;

namespace {

constexpr int64_t S = horloge::ntp::NS_PER_S;
Address v4(uint32_t a) { return Address{4, 0, a}; }
Address v6(uint64_t hi, uint64_t lo) { return Address{6, hi, lo}; }

}  // namespace

TEST_CASE("top clients: counts per address, IPv6 by /64, busiest first") {
  auto t = std::make_unique<TopClients>(SipKey{1, 2});
  for (int i = 0; i < 5; ++i) t->record(v4(0xc0000207), i * S);
  for (int i = 0; i < 3; ++i) t->record(v6(0x20010db800010002ull, 0x1000 + i), 10 * S);
  auto* e = t->record(v4(0xc0000208), 20 * S);
  TopClients::limited(*e, false);
  e = t->record(v4(0xc0000208), 21 * S);
  TopClients::limited(*e, true);

  TopClients::Client out[16];
  size_t n = t->top(out, 16);
  REQUIRE(n == 3);
  CHECK(TopClients::format(out[0].address) == "192.0.2.7");
  CHECK(out[0].requests == 5);
  CHECK(out[0].rateLimited == 0);
  CHECK(out[0].lastSeenNs == 4 * S);
  CHECK(TopClients::format(out[1].address) == "2001:db8:1:2::/64");
  CHECK(out[1].requests == 3);   // three addresses of one /64: one client
  CHECK(TopClients::format(out[2].address) == "192.0.2.8");
  CHECK(out[2].requests == 2);
  CHECK(out[2].rateLimited == 2);
  CHECK(out[2].kodSent == 1);
  CHECK(out[2].lastSeenNs == 21 * S);
  CHECK(t->top(out, 1) == 1);
  CHECK(TopClients::format(out[0].address) == "192.0.2.7");
}

TEST_CASE("top clients: heavy talkers survive a flood of new addresses (space-saving)") {
  auto t = std::make_unique<TopClients>(SipKey{3, 4});
  // Ten heavy clients, then 100 000 one-off (spoofed) sources, interleaved with the heavy ones
  // continuing at 1 request per 100 flood packets.
  for (uint32_t h = 0; h < 10; ++h) {
    for (int i = 0; i < 1000; ++i) t->record(v4(0x0a000000 + h), 0);
  }
  for (uint32_t i = 0; i < 100'000; ++i) {
    t->record(v4(0xc6120000 + i), S);
    if (i % 100 == 0) {
      for (uint32_t h = 0; h < 10; ++h) t->record(v4(0x0a000000 + h), S);
    }
  }
  TopClients::Client out[16];
  size_t n = t->top(out, 16);
  REQUIRE(n == 16);
  int heavy = 0;
  for (size_t i = 0; i < 10; ++i) {
    if ((out[i].address.lo & 0xff000000) == 0x0a000000) {
      ++heavy;
      CHECK(out[i].requests == 2000);   // exact: they never lost their way
    }
  }
  CHECK(heavy == 10);
  // A flood source reports only what it sent since it took its way, not the inherited count.
  for (size_t i = 10; i < n; ++i) CHECK(out[i].requests <= 2);
}

TEST_CASE("top clients: the set depends on the key; fixed size") {
  CHECK(sizeof(TopClients) < 20000);
  CHECK(TopClients::SLOTS == 256);
  // Two keys spread the same 8 addresses differently: with one key they may share a set,
  // but every address is counted either way.
  for (uint64_t k = 0; k < 4; ++k) {
    auto t = std::make_unique<TopClients>(SipKey{k, ~k});
    for (uint32_t a = 1; a <= 8; ++a) t->record(v4(a), 0);
    TopClients::Client out[16];
    CHECK(t->top(out, 16) == 8);
  }
}

TEST_CASE("top clients: workers counting at once lose nothing and tear nothing") {
  auto t = std::make_unique<TopClients>(SipKey{5, 6});
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&t, w]() {
      for (int i = 0; i < 20000; ++i) {
        auto* e = t->record(v4(0xc0000201 + (i % 4)), w * S + i);
        if (i % 2) TopClients::limited(*e, i % 4 == 1);
      }
    });
  }
  for (auto& th: threads) th.join();
  TopClients::Client out[16];
  size_t n = t->top(out, 16);
  REQUIRE(n == 4);
  for (size_t i = 0; i < n; ++i) {
    CHECK(out[i].requests == 20000);
    CHECK(out[i].kodSent <= out[i].rateLimited);
    CHECK((out[i].address.lo & 0xfffffff0) == 0xc0000200);
  }
}
