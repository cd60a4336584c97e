#include "rate-limiter.h"
#include "ntp-time.h"
#include <kj/debug.h>
#include <sys/random.h>

namespace horloge::netd {

namespace {
constexpr int KOD_TICK_SHIFT = 20;   // ~1.05 ms
inline uint32_t relaxedLoad(const std::atomic<uint32_t>& a) { return a.load(std::memory_order_relaxed); }
}  // namespace

RateLimiter::RateLimiter(const RateLimitOptions& options, SipKey key)
    : key(key), kod(options.kod) {
  KJ_REQUIRE(options.interval >= -19 && options.interval <= 12, options.interval);
  KJ_REQUIRE(options.burst >= 1 && options.burst <= 255, options.burst);
  KJ_REQUIRE(options.leak >= 1 && options.leak <= 4, options.leak);
  KJ_REQUIRE(options.entries >= 1 && options.entries <= (size_t(1) << 28), options.entries);
  periodNs = options.interval >= 0 ? ntp::NS_PER_S << options.interval
                                   : ntp::NS_PER_S >> -options.interval;
  burstNs = (options.burst - 1) * periodNs;
  leakMask = (1u << options.leak) - 1;
  kodTicks = static_cast<uint32_t>(kj::max(int64_t(1), periodNs >> KOD_TICK_SHIFT));
  size_t n = 1;
  while (n * WAYS < options.entries) n <<= 1;
  setMask = n - 1;
  sets = kj::heapArray<Set>(n);   // every page written now: the footprint never changes later
}

kj::Own<RateLimiter> RateLimiter::withRandomKey(const RateLimitOptions& options) {
  SipKey key;
  KJ_SYSCALL(getrandom(&key, sizeof(key), 0));
  return kj::heap<RateLimiter>(options, key);
}

Limit RateLimiter::check(const Address& client, int64_t nowNs, uint32_t random) {
  // IPv4: the address; IPv6: its /64. The family is in the hashed length (4 or 8 bytes).
  uint8_t bytes[8];
  size_t length;
  uint64_t value = client.family == 6 ? client.hi : client.lo;
  length = client.family == 6 ? 8 : 4;
  for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  uint64_t h = sipHash13(key, bytes, length);
  Set& set = sets[h & setMask];
  uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;
  uint32_t nowTick = static_cast<uint32_t>(nowNs >> KOD_TICK_SHIFT);

  Entry* e = nullptr;
  for (auto& way: set.ways) {
    if (relaxedLoad(way.tag) == tag) {
      e = &way;
      break;
    }
  }
  if (e == nullptr) {
    // Replace the way with the oldest arrival time: its bucket has refilled the most.
    e = &set.ways[0];
    for (auto& way: set.ways) {
      if (way.arrival.load(std::memory_order_relaxed) < e->arrival.load(std::memory_order_relaxed))
        e = &way;
    }
    e->tag.store(tag, std::memory_order_relaxed);
    e->arrival.store(nowNs, std::memory_order_relaxed);
    e->kodTick.store(nowTick - kodTicks, std::memory_order_relaxed);
  }

  int64_t arrival = kj::max(e->arrival.load(std::memory_order_relaxed), nowNs);
  if (arrival - nowNs <= burstNs) {
    e->arrival.store(arrival + periodNs, std::memory_order_relaxed);
    return Limit::ANSWER;
  }
  if ((random & leakMask) == 0) return Limit::ANSWER;
  if (kod && nowTick - relaxedLoad(e->kodTick) >= kodTicks) {
    e->kodTick.store(nowTick, std::memory_order_relaxed);
    return Limit::KOD;
  }
  return Limit::DROP;
}

}  // namespace horloge::netd
