#include "ntp-time.h"
#include "rate-limiter.h"
#include <cstdio>
#include <doctest/doctest.h>
#include <unistd.h>

using namespace horloge::netd;

namespace {

constexpr int64_t S = horloge::ntp::NS_PER_S;
constexpr int64_t T0 = 1000 * S;   // an arbitrary monotonic time

Address v4(uint32_t a) { return Address{4, 0, a}; }
Address v6(uint64_t hi, uint64_t lo) { return Address{6, hi, lo}; }

RateLimiter make(int interval, int burst, int leak, bool kod = false, size_t entries = 1 << 16) {
  return RateLimiter(RateLimitOptions{interval, burst, leak, kod, entries}, SipKey{1, 2});
}

// Resident pages of this process, from /proc/self/statm.
long residentPages() {
  FILE* f = fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  long size = 0, resident = 0;
  REQUIRE(fscanf(f, "%ld %ld", &size, &resident) == 2);
  fclose(f);
  return resident;
}

}  // namespace

TEST_CASE("siphash-2-4 matches the paper's vectors; 1-3 depends on the key") {
  SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
  CHECK(sipHash<2, 4>(key, msg, 15) == 0xa129ca6149be45e5ull);
  CHECK(sipHash<2, 4>(key, msg, 0) == 0x726fdb47dd0e0e31ull);
  CHECK(sipHash13(key, msg, 8) != sipHash13(SipKey{1, 2}, msg, 8));
  CHECK(sipHash13(key, msg, 8) != sipHash13(key, msg, 4));
}

TEST_CASE("ratelimit: a burst, then one per interval") {
  RateLimiter r = make(1, 4, 4);   // 2 s, burst 4, leak 1 in 16
  Address a = v4(0xc0000201);
  int answered = 0;
  for (int i = 0; i < 4; ++i) answered += r.check(a, T0, 1) == Limit::ANSWER;
  CHECK(answered == 4);
  CHECK(r.check(a, T0, 1) == Limit::DROP);              // random 1: the leak says no
  CHECK(r.check(a, T0, 16) == Limit::ANSWER);           // random & 15 == 0: leaked
  CHECK(r.check(a, T0 + 1 * S, 1) == Limit::DROP);      // still under one interval
  CHECK(r.check(a, T0 + 2 * S, 1) == Limit::ANSWER);    // one interval: one token back
  CHECK(r.check(a, T0 + 2 * S, 1) == Limit::DROP);
  // A long silence refills the bucket to `burst`, no more.
  answered = 0;
  for (int i = 0; i < 10; ++i) answered += r.check(a, T0 + 1000 * S, 1) == Limit::ANSWER;
  CHECK(answered == 4);
  // Another client is not affected.
  CHECK(r.check(v4(0xc0000202), T0, 1) == Limit::ANSWER);
}

TEST_CASE("ratelimit: the mean rate of a steady client is 1 per 2^interval") {
  RateLimiter r = make(-3, 8, 4);   // 125 ms
  Address a = v4(0x0a000001);
  int answered = 0;
  for (int i = 0; i < 10 * 100; ++i) {   // 100 req/s for 10 s
    answered += r.check(a, T0 + i * S / 100, 1) == Limit::ANSWER;
  }
  CHECK(answered >= 80);   // 10 s / 125 ms + burst 8
  CHECK(answered <= 89);
}

TEST_CASE("ratelimit: the leak lets about 1 in 2^leak through") {
  RateLimiter r = make(3, 1, 2);
  Address a = v4(0x0a000002);
  uint64_t rng = 42;
  int answered = 0;
  for (int i = 0; i < 40000; ++i) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    answered += r.check(a, T0, static_cast<uint32_t>(rng >> 32)) == Limit::ANSWER;
  }
  CHECK(answered > 9000);
  CHECK(answered < 11000);
}

TEST_CASE("ratelimit: address only, IPv6 by /64") {
  RateLimiter r = make(3, 1, 4);
  CHECK(r.check(v6(0x20010db800000001ull, 1), T0, 1) == Limit::ANSWER);
  CHECK(r.check(v6(0x20010db800000001ull, 0xffff), T0, 1) == Limit::DROP);   // same /64
  CHECK(r.check(v6(0x20010db800000002ull, 1), T0, 1) == Limit::ANSWER);      // next /64
  // IPv4 and an IPv6 /64 with the same low bits are different clients.
  CHECK(r.check(v4(0x20010db8), T0, 1) == Limit::ANSWER);
}

TEST_CASE("ratelimit: kiss-o'-death replies are themselves limited") {
  RateLimiter r = make(1, 2, 4, true);   // 2 s
  Address a = v4(0xc6120002);
  int kods = 0, answered = 0, dropped = 0;
  for (int i = 0; i < 200; ++i) {
    switch (r.check(a, T0 + i * 1'000'000, 1)) {   // 1000 req/s for 0.2 s
      case Limit::ANSWER: ++answered; break;
      case Limit::KOD: ++kods; break;
      case Limit::DROP: ++dropped; break;
    }
  }
  CHECK(answered == 2);
  CHECK(kods == 1);
  CHECK(dropped == 197);
  CHECK(r.check(a, T0 + 3 * S, 1) == Limit::ANSWER);
  CHECK(r.check(a, T0 + 3 * S, 1) == Limit::KOD);   // 2 s after the first KoD
  CHECK(r.check(a, T0 + 3 * S, 1) == Limit::DROP);
  // Without `kod`, never a KoD.
  RateLimiter quiet = make(1, 2, 4, false);
  for (int i = 0; i < 100; ++i) CHECK(quiet.check(a, T0, 1) != Limit::KOD);
}

TEST_CASE("ratelimit: a flood of new addresses does not evict a limited client first") {
  // Eviction takes the way whose bucket is fullest (oldest arrival time): a client that used its
  // whole burst outlives a flood of one-request addresses.
  RateLimiter r = make(3, 8, 4, false, 1024);
  Address abuser = v4(0xcb007101);
  for (int i = 0; i < 50; ++i) r.check(abuser, T0, 1);   // 8 answered, then limited
  for (uint32_t i = 0; i < 100000; ++i) r.check(v4(0x0a000000 + i), T0 + i * 10'000, 1);
  CHECK(r.check(abuser, T0 + S, 1) == Limit::DROP);
}

TEST_CASE("ratelimit: memory stays flat under a million spoofed addresses") {
  RateLimiter r = make(3, 8, 2, true);
  size_t capacity = r.capacity(), bytes = r.memoryBytes();
  CHECK(capacity == 1 << 16);
  CHECK(bytes == 1 << 20);
  uint64_t rng = 7;
  int answered = 0;
  for (uint32_t i = 0; i < 1000; ++i) r.check(v4(i), T0, 1);   // code paths paged in
  long before = residentPages();
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    Address a = i % 2 ? v4(static_cast<uint32_t>(rng >> 32))
                      : v6(rng, i);   // a new /64 each time
    answered += r.check(a, T0 + i * 1000, static_cast<uint32_t>(rng >> 16)) == Limit::ANSWER;
  }
  long after = residentPages();
  long page = sysconf(_SC_PAGESIZE);
  MESSAGE("1M addresses: table ", bytes, " bytes, ", capacity, " slots; RSS ", before * page,
          " -> ", after * page, " bytes");
  CHECK(answered == 1'000'000);   // each one's first request: within its burst
  CHECK(r.capacity() == capacity);
  CHECK(r.memoryBytes() == bytes);
  // One entry per address would take 16 MB; the bound leaves room for the allocator and for
  // transparent huge pages being assembled meanwhile, not for anything that scales.
  CHECK((after - before) * page <= 256 * 1024);
}
