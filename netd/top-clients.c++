#include "top-clients.h"
#include <algorithm>
#include <arpa/inet.h>
#include <kj/debug.h>
#include <sys/random.h>

namespace horloge::netd {

namespace {
inline uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
}  // namespace

TopClients::TopClients(SipKey key): key(key) {
  for (auto& set: sets) {
    for (auto& k: set.keys) k.store(EMPTY, std::memory_order_relaxed);
  }
}

kj::Own<TopClients> TopClients::withRandomKey() {
  SipKey key;
  KJ_SYSCALL(getrandom(&key, sizeof(key), 0));
  return kj::heap<TopClients>(key);
}

// IPv6: the /64 as it is. IPv4: under ffff:ffff::/32, which is multicast and so never the source
// of a request that reaches us (packet.h drops those), as is the all-ones EMPTY.
uint64_t TopClients::keyOf(const Address& a) {
  return a.family == 6 ? a.hi : (uint64_t(0xffffffffu) << 32) | (a.lo & 0xffffffffu);
}

Address TopClients::addressOfKey(uint64_t key) {
  if ((key >> 32) == 0xffffffffu) return Address{4, 0, key & 0xffffffffu};
  return Address{6, key, 0};
}

TopClients::Entry* TopClients::record(const Address& client, int64_t nowNs) {
  uint64_t k = keyOf(client);
  uint8_t bytes[8];
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(k >> (8 * i));
  Set& set = sets[sipHash13(key, bytes, sizeof(bytes)) % SETS];

  size_t way = WAYS;
  for (size_t i = 0; i < WAYS; ++i) {
    if (set.keys[i].load(std::memory_order_relaxed) == k) {
      way = i;
      break;
    }
  }
  Entry* e;
  if (way < WAYS) {
    e = &set.entries[way];
    e->count.fetch_add(1, std::memory_order_relaxed);
  } else {
    // Space-saving: take the lightest way, inheriting its count as the estimate's error.
    way = 0;
    uint64_t least = get(set.entries[0].count);
    for (size_t i = 1; i < WAYS && least > 0; ++i) {
      uint64_t c = get(set.entries[i].count);
      if (c < least) { least = c; way = i; }
    }
    e = &set.entries[way];
    set.keys[way].store(k, std::memory_order_relaxed);
    e->base.store(least, std::memory_order_relaxed);
    e->count.store(least + 1, std::memory_order_relaxed);
    e->rateLimited.store(0, std::memory_order_relaxed);
    e->kodSent.store(0, std::memory_order_relaxed);
  }
  e->lastSeenNs.store(nowNs, std::memory_order_relaxed);
  return e;
}

size_t TopClients::top(Client* out, size_t max) const {
  // Keep the `max` largest estimates, by insertion into a small sorted array (max is 16).
  struct Ranked { uint64_t estimate; Client client; };
  Ranked best[REPORTED];
  size_t n = 0;
  max = std::min(max, REPORTED);
  for (auto& set: sets) {
    for (size_t i = 0; i < WAYS; ++i) {
      uint64_t k = set.keys[i].load(std::memory_order_relaxed);
      if (k == EMPTY) continue;
      const Entry& e = set.entries[i];
      uint64_t estimate = get(e.count);
      uint64_t base = get(e.base);
      Ranked r{estimate, Client{addressOfKey(k), estimate > base ? estimate - base : 0,
                                get(e.rateLimited), get(e.kodSent),
                                e.lastSeenNs.load(std::memory_order_relaxed)}};
      if (r.client.requests == 0) continue;
      size_t pos = n;
      while (pos > 0 && best[pos - 1].estimate < estimate) --pos;
      if (pos >= max) continue;
      size_t last = std::min(n, max - 1);
      for (size_t j = last; j > pos; --j) best[j] = best[j - 1];
      best[pos] = r;
      if (n < max) ++n;
    }
  }
  for (size_t i = 0; i < n; ++i) out[i] = best[i].client;
  return n;
}

kj::String TopClients::format(const Address& address) {
  char text[INET6_ADDRSTRLEN + 4];
  if (address.family == 4) {
    in_addr a;
    a.s_addr = htonl(static_cast<uint32_t>(address.lo));
    inet_ntop(AF_INET, &a, text, sizeof(text));
    return kj::str(text);
  }
  in6_addr a{};
  for (int i = 0; i < 8; ++i) a.s6_addr[i] = static_cast<uint8_t>(address.hi >> (56 - 8 * i));
  inet_ntop(AF_INET6, &a, text, sizeof(text));
  return kj::str(text, "/64");
}

}  // namespace horloge::netd
