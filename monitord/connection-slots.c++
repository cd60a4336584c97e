#include "connection-slots.h"
#include <cstring>

namespace horloge::monitord {

kj::StringPtr refusalName(Refusal r) {
  switch (r) {
    case Refusal::NOT_ALLOWED: return "not_allowed";
    case Refusal::SOURCE_SHARE: return "source_share";
    case Refusal::FULL: return "full";
  }
  return "?";
}

kj::StringPtr cutName(Cut c) {
  switch (c) {
    case Cut::HANDSHAKE_DEADLINE: return "handshake_deadline";
    case Cut::HEADER_DEADLINE: return "header_deadline";
    case Cut::EVICTED: return "evicted";
    case Cut::LIFETIME: return "lifetime";
    case Cut::TLS_FAILED: return "tls_failed";
  }
  return "?";
}

namespace {

// The source a share is counted for: an IPv4 address or an IPv6 /64 (one host can have a whole
// /64), tagged with its family.
template <typename Source>
bool sourceOf(const sockaddr* peer, Source& source) {
  uint8_t a[16];
  int family;
  if (!ClientAccess::address(peer, a, family)) return false;
  memcpy(&source.high, a, 8);   // an IPv4 address is followed by zeros
  source.low = uint64_t(family);
  return true;
}

}  // namespace

ConnectionSlots::ConnectionSlots(SlotLimits limits, const ClientAccess* access)
    : limits(limits), access(access), slots(kj::heapArray<Slot>(limits.total)) {}

ConnectionSlots::Slot* ConnectionSlots::find(uint64_t id) {
  for (auto& s: slots) if (s.used && s.id == id) return &s;
  return nullptr;
}

unsigned ConnectionSlots::holding(const Source& source) const {
  unsigned n = 0;
  for (auto& s: slots) n += s.used && s.source == source;
  return n;
}

kj::Maybe<ConnectionSlots::Slot&> ConnectionSlots::victim(bool outsidersOnly, unsigned newcomerHolds) {
  Slot* best = nullptr;
  unsigned bestHolds = 0;
  for (auto& s: slots) {
    if (!s.used || s.phase == Phase::ACTIVE || (outsidersOnly && s.insider)) continue;
    unsigned holds = holding(s.source);
    // Levelling: only from a source left with at least as many as the newcomer's then has.
    // So a host's only connection is never taken, whoever connects after it.
    if (holds < newcomerHolds + 2) continue;
    if (best == nullptr || holds > bestHolds || (holds == bestHolds && s.since < best->since)) {
      best = &s;
      bestHolds = holds;
    }
  }
  if (best == nullptr) return nullptr;
  return *best;
}

ConnectionSlots::Admission ConnectionSlots::admit(const sockaddr* peer, kj::TimePoint now) {
  Admission a;
  auto refuse = [&](Refusal why) {
    ++counters.refused[static_cast<size_t>(why)];
    a.refusal = why;
    return a;
  };
  Source source;
  if ((access != nullptr && !access->allows(peer)) || !sourceOf(peer, source)) {
    return refuse(Refusal::NOT_ALLOWED);
  }
  unsigned fromSource = 0, outsiders = 0;
  for (auto& s: slots) {
    if (!s.used) continue;
    if (s.source == source) ++fromSource;
    if (!s.insider) ++outsiders;
  }
  if (fromSource >= limits.perSource) return refuse(Refusal::SOURCE_SHARE);

  bool insider = access != nullptr && access->insider(peer);
  unsigned reserve = access != nullptr && access->keepsReserve() ? limits.reserved : 0;
  // Outsiders may fill all but the reserve; insiders any slot.
  bool full = open >= limits.total || (!insider && outsiders + reserve >= limits.total);
  Slot* slot = nullptr;
  if (full) {
    // An outsider's waiting connection first; an outsider takes nothing from the insiders.
    auto taken = victim(true, fromSource);
    if (taken == nullptr && insider) taken = victim(false, fromSource);
    KJ_IF_MAYBE(v, taken) {
      a.evict = v->id;
      slot = v;
      ++counters.cut[static_cast<size_t>(Cut::EVICTED)];
    } else {
      return refuse(Refusal::FULL);
    }
  } else {
    for (auto& s: slots) {
      if (!s.used) {
        slot = &s;
        break;
      }
    }
    ++open;
  }
  *slot = Slot{true, nextId++, source, insider, Phase::HANDSHAKE, now, now};
  ++counters.accepted;
  counters.open = open;
  a.admitted = true;
  a.id = slot->id;
  return a;
}

void ConnectionSlots::setPhase(uint64_t id, Phase phase, kj::TimePoint now) {
  if (Slot* s = find(id)) {
    s->phase = phase;
    s->since = now;
  }
}

void ConnectionSlots::release(uint64_t id) {
  if (Slot* s = find(id)) {
    s->used = false;
    --open;
    counters.open = open;
  }
}

kj::Vector<ConnectionSlots::Overdue> ConnectionSlots::overdue(kj::TimePoint now) const {
  kj::Vector<Overdue> out;
  bool pressed = underPressure();
  kj::Duration handshake = pressed ? limits.pressuredHandshake : limits.handshake;
  kj::Duration header = pressed ? limits.pressuredHeader : limits.header;
  for (auto& s: slots) {
    if (!s.used) continue;
    if (now - s.accepted >= limits.lifetime) {
      out.add(Overdue{s.id, Cut::LIFETIME});
    } else if (s.phase == Phase::HANDSHAKE && now - s.since >= handshake) {
      out.add(Overdue{s.id, Cut::HANDSHAKE_DEADLINE});
    } else if (s.phase == Phase::WAITING && now - s.since >= header) {
      out.add(Overdue{s.id, Cut::HEADER_DEADLINE});
    }
  }
  return out;
}

}  // namespace horloge::monitord
