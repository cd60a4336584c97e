// `ratelimit`: chrony's response rate limiting, in a fixed-size table shared by netd's workers.
//
// Per client a virtual token bucket (kept as one "theoretical arrival time", GCRA): `burst`
// responses may go at once, then one per 2^interval s on average. A limited request is still
// answered with probability 2^-leak, so that someone sending with a victim's address cannot
// cut the victim off. With `kod`, a limited request that the leak did not let through may get a
// RATE kiss-o'-death instead, at most one per client per 2^interval s (and at least 1 ms apart).
//
// Memory is allocated once, in the constructor, and never grows: `entries` slots (rounded up to
// a power of two, at least 4) in 4-way sets of one cache line each. A client is keyed by its
// address only, never the port: IPv4 by its 32 bits, IPv6 by its /64 (one subscriber's LAN).
// Addresses are hashed with SipHash-1-3 under a key chosen at each start, so the set a client
// lands in cannot be predicted from outside. When a set is full the entry with the oldest
// arrival time is replaced: a flood of new (spoofed) addresses evicts quiet clients, whose
// buckets were full anyway, before it evicts a client that is being limited.
//
// Threads: all workers share one table (netd's workers all read one socket, so any worker may
// see any client). Fields are relaxed atomics: two workers racing on one client may lose an
// update, letting one extra response through, which is harmless; nothing tears and nothing
// locks. No allocation, no system call per check.
#pragma once
#include "access-list.h"
#include "siphash.h"
#include <atomic>
#include <cstdint>
#include <kj/array.h>

namespace horloge::netd {

struct RateLimitOptions {
  int interval = 3;              // log2 s between responses on average, -19..12
  int burst = 8;                 // 1..255
  int leak = 2;                  // log2: 1 limited request in 2^leak still answered, 1..4
  bool kod = false;
  size_t entries = 1 << 16;      // table slots, 16 bytes each
};

enum class Limit : uint8_t {
  ANSWER,   // within the rate, or let through by the leak
  DROP,     // limited: no answer
  KOD,      // limited: answer with a RATE kiss-o'-death
};

class RateLimiter {
public:
  RateLimiter(const RateLimitOptions& options, SipKey key);
  // The same with a key from getrandom(): call before lockdown, or allow getrandom.
  static kj::Own<RateLimiter> withRandomKey(const RateLimitOptions& options);
  KJ_DISALLOW_COPY(RateLimiter);

  // One request from `client` at CLOCK_MONOTONIC `nowNs`; `random` decides the leak.
  Limit check(const Address& client, int64_t nowNs, uint32_t random);

  size_t capacity() const { return sets.size() * WAYS; }
  size_t memoryBytes() const { return sets.size() * sizeof(Set); }

private:
  static constexpr int WAYS = 4;
  struct Entry {
    std::atomic<uint32_t> tag{0};        // high hash bits | 1; 0 is an empty slot
    std::atomic<uint32_t> kodTick{0};    // last KoD, in 2^20 ns ticks (wraps: harmless)
    std::atomic<int64_t> arrival{0};     // GCRA theoretical arrival time, monotonic ns
  };
  struct alignas(64) Set {
    Entry ways[WAYS];
  };
  static_assert(sizeof(Set) == 64);

  SipKey key;
  int64_t periodNs;        // 2^interval s
  int64_t burstNs;         // (burst - 1) * period: how far ahead of now a client may run
  uint32_t leakMask;
  uint32_t kodTicks;
  bool kod;
  size_t setMask;
  kj::Array<Set> sets;
};

}  // namespace horloge::netd
