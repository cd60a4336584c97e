#include "interleave.h"
#include "siphash.h"
#include <cstring>
#include <netinet/in.h>

namespace horloge::netd {

using ntp::load64;
using ntp::store64;

bool ClientKey::operator==(const ClientKey& o) const {
  return memcmp(addr, o.addr, sizeof(addr)) == 0;
}

ClientKey keyOf(const sockaddr* source) {
  ClientKey k{};
  if (source->sa_family == AF_INET) {
    auto sin = reinterpret_cast<const sockaddr_in*>(source);
    k.addr[10] = k.addr[11] = 0xff;
    memcpy(k.addr + 12, &sin->sin_addr, 4);
  } else {
    memcpy(k.addr, &reinterpret_cast<const sockaddr_in6*>(source)->sin6_addr, 16);
  }
  return k;
}

bool wantsInterleaved(const uint8_t* p, size_t length) {
  if (length < PACKET_SIZE || wire::version(p) != 4) return false;
  // Odd origin: a copy of one of our (flagged) receive timestamps. Equal receive and transmit:
  // not a client in interleaved mode (chrony makes the same check).
  return (wire::timestamp(p, wire::ORIGIN) & 1) != 0 &&
         wire::timestamp(p, wire::RECEIVE) != wire::timestamp(p, wire::TRANSMIT);
}

void makeInterleaved(Reply& reply, const uint8_t* request, ntp::Timestamp previousTx) {
  // origin = the request's receive, bit for bit
  memcpy(reply.bytes + wire::ORIGIN, request + wire::RECEIVE, 8);
  wire::setTimestamp(reply.bytes, wire::TRANSMIT, previousTx);
}

namespace {
bool later(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) > 0; }
}  // namespace

void flagTimestamps(Reply& reply, bool interleaved) {
  uint8_t* r = reply.bytes;
  uint64_t rx = wire::timestamp(r, wire::RECEIVE) | 1;
  uint64_t tx = wire::timestamp(r, wire::TRANSMIT) & ~uint64_t(1);
  // Only a basic reply orders receive before transmit: an interleaved one carries the transmit
  // time of an earlier reply.
  if (!interleaved && later(rx, tx)) rx = tx - 1;
  uint64_t ref = wire::timestamp(r, wire::REFERENCE);
  if (ref != 0 && later(ref, rx)) wire::setTimestamp(r, wire::REFERENCE, rx);
  wire::setTimestamp(r, wire::RECEIVE, rx);
  wire::setTimestamp(r, wire::TRANSMIT, tx);
}

ntp::Timestamp transmitStamp(int64_t unixNs) {
  return ntp::fromUnixNs(unixNs) & ~uint64_t(1);
}

namespace {

size_t roundUpPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

InterleaveTable::InterleaveTable(size_t n, const uint8_t hashKey[16])
    : count(roundUpPow2(n < WAYS ? WAYS : n)) {
  slots = std::unique_ptr<Slot[]>(new Slot[count]);
  bucketMask = count / WAYS - 1;
  memcpy(&key.k0, hashKey, 8);
  memcpy(&key.k1, hashKey + 8, 8);
}

uint64_t InterleaveTable::hash(const ClientKey& key) const {
  return sipHash13(this->key, key.addr, sizeof(key.addr));
}

InterleaveTable::Plan InterleaveTable::begin(const ClientKey& key, ntp::Timestamp origin,
                                             uint32_t nowS) {
  Plan plan;
  plan.key = key;
  uint64_t h = hash(key);
  uint64_t tag = h | 1;
  size_t base = (h & bucketMask) * WAYS;

  for (size_t i = base; i < base + WAYS; ++i) {
    Slot& s = slots[i];
    if (s.tag.load(std::memory_order_relaxed) != tag) continue;
    if (!lock(s)) return plan;   // another worker is on it: basic this once
    if (s.tag.load(std::memory_order_relaxed) == tag && s.key == key) {
      s.lastSeenS.store(nowS, std::memory_order_relaxed);
      plan.slot = static_cast<uint32_t>(i);
      if (origin == s.rx && s.tx != 0) {
        plan.outcome = Outcome::INTERLEAVED;
        plan.previousTx = s.tx;
      } else {
        plan.outcome = Outcome::BASIC;
      }
      unlock(s);
      return plan;
    }
    unlock(s);
  }

  // A newcomer: an empty way, else the one idle longest if idle long enough.
  size_t victim = SIZE_MAX;
  uint32_t oldest = 0;
  for (size_t i = base; i < base + WAYS; ++i) {
    Slot& s = slots[i];
    if (s.tag.load(std::memory_order_relaxed) == 0) { victim = i; break; }
    uint32_t idle = nowS - s.lastSeenS.load(std::memory_order_relaxed);
    if (idle >= EVICT_AFTER_S && idle >= oldest) { victim = i; oldest = idle; }
  }
  if (victim == SIZE_MAX) return plan;   // table full here
  Slot& s = slots[victim];
  if (!lock(s)) return plan;
  uint64_t was = s.tag.load(std::memory_order_relaxed);
  if (was != 0 && nowS - s.lastSeenS.load(std::memory_order_relaxed) < EVICT_AFTER_S) {
    unlock(s);   // taken meanwhile by an active client
    return plan;
  }
  s.tag.store(tag, std::memory_order_relaxed);
  s.key = key;
  s.rx = 0;
  s.tx = 0;
  s.lastSeenS.store(nowS, std::memory_order_relaxed);
  unlock(s);
  plan.slot = static_cast<uint32_t>(victim);
  plan.outcome = Outcome::BASIC;
  return plan;
}

void InterleaveTable::save(const Plan& plan, ntp::Timestamp replyRx, ntp::Timestamp fallbackTx) {
  if (plan.outcome == Outcome::FULL) return;
  Slot& s = slots[plan.slot];
  if (!lock(s)) return;
  if (s.tag.load(std::memory_order_relaxed) != 0 && s.key == plan.key) {
    s.rx = replyRx;
    s.tx = fallbackTx;
  }
  unlock(s);
}

bool InterleaveTable::kernelStamp(const ClientKey& key, ntp::Timestamp replyRx,
                                  ntp::Timestamp kernelTx, ntp::Timestamp& replaced) {
  uint64_t h = hash(key);
  uint64_t tag = h | 1;
  size_t base = (h & bucketMask) * WAYS;
  for (size_t i = base; i < base + WAYS; ++i) {
    Slot& s = slots[i];
    if (s.tag.load(std::memory_order_relaxed) != tag || !lock(s)) continue;
    bool match = s.tag.load(std::memory_order_relaxed) == tag && s.key == key && s.rx == replyRx;
    if (match) {
      replaced = s.tx;
      s.tx = kernelTx;
    }
    unlock(s);
    if (match) return true;
  }
  return false;
}

}  // namespace horloge::netd
