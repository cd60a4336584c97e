// netd's top talkers (`horlogectl clients`): a fixed table of the busiest client addresses with
// their request, rate-limited and KoD counts, updated from the workers' per-request decision
// point and read by the IPC thread once per stats push (NetdStats.topClients).
//
// Memory: SLOTS (256) entries allocated inside the object, never grown, nothing allocated per
// request. A client is keyed like the rate limiter keys it: IPv4 by its address, IPv6 by its
// /64. The key is hashed with SipHash-1-3 under a key chosen at each start into one of 32 sets
// of 8 ways, so nobody outside can aim addresses at one set.
//
// Replacement is space-saving (Metwally et al.), per set: a client not in its set takes the way
// with the smallest request count and inherits that count as its estimate (`base` remembers how
// much was inherited). Ranking uses the estimate, so a steady heavy talker keeps its way while
// a flood of new (spoofed) addresses churns through the lightest ways; the counts reported are
// exact since the client took its slot (estimate minus base).
//
// Threads: any worker may update any entry. Counters are relaxed atomics: two workers racing
// to take one way may mix two clients' counts for a moment; nothing tears, nothing locks.
#pragma once
#include "access-list.h"
#include "siphash.h"
#include <atomic>
#include <cstdint>
#include <kj/string.h>

namespace horloge::netd {

class TopClients {
public:
  static constexpr size_t WAYS = 8;
  static constexpr size_t SETS = 32;
  static constexpr size_t SLOTS = WAYS * SETS;
  static constexpr size_t REPORTED = 16;   // NetdStats.topClients

  struct Entry {
    std::atomic<uint64_t> count{0};        // space-saving estimate: base + requests
    std::atomic<uint64_t> base{0};         // inherited from the previous owner of the way
    std::atomic<uint64_t> rateLimited{0};
    std::atomic<uint64_t> kodSent{0};
    std::atomic<int64_t> lastSeenNs{0};    // CLOCK_MONOTONIC
  };

  explicit TopClients(SipKey key);
  // The same with a key from getrandom(): call before lockdown, or allow getrandom.
  static kj::Own<TopClients> withRandomKey();
  KJ_DISALLOW_COPY(TopClients);

  // One well-formed request from `client` that passed the access rules. Returns its entry, for
  // limited() once the rate limiter has decided. Never null for an IPv4/IPv6 client.
  Entry* record(const Address& client, int64_t nowNs);
  // The rate limiter refused the request recorded in `e` (with a KoD if `kod`).
  static void limited(Entry& e, bool kod) {
    e.rateLimited.fetch_add(1, std::memory_order_relaxed);
    if (kod) e.kodSent.fetch_add(1, std::memory_order_relaxed);
  }

  struct Client {
    Address address;           // IPv4, or IPv6 with `lo` 0 (the /64)
    uint64_t requests, rateLimited, kodSent;
    int64_t lastSeenNs;
  };
  // The busiest clients first (by estimate), at most `max`, into `out`. Returns how many.
  size_t top(Client* out, size_t max) const;

  // "192.0.2.7" or "2001:db8:1:2::/64".
  static kj::String format(const Address& address);

private:
  static constexpr uint64_t EMPTY = ~uint64_t(0);   // ffff:ffff:ffff:ffff::/64: multicast
  struct alignas(64) Set {
    std::atomic<uint64_t> keys[WAYS];   // one cache line: the lookup reads only this
    Entry entries[WAYS];
  };
  static uint64_t keyOf(const Address& a);
  static Address addressOfKey(uint64_t key);

  SipKey key;
  Set sets[SETS];
};

}  // namespace horloge::netd
