// Who gets one of monitord's connection slots, and who loses one, so that no remote host (nor
// a few) can keep the operators and the health checkers out:
//   - each source (an IPv4 address, an IPv6 /64) holds at most `perSource` slots;
//   - with `monitor allow all` next to narrower `monitor allow` prefixes, `reserved` slots are
//     kept for peers in those prefixes (the management network) whatever the others do;
//   - a connection that has not yet sent a request (TLS handshake, waiting for the request
//     head, idle keep-alive) has `handshake`/`header` to get on with it, and only
//     `pressured...` once `pressure` slots are taken;
//   - with every slot it may use taken, a newcomer takes the slot of a connection still without
//     a request (an outsider's, for an insider) from a source that holds at least two more
//     slots than the newcomer's would (the fullest source first, then the one waiting
//     longest): a host with none gets in while any source holds two, and a host's only
//     connection is never taken. Else the newcomer is refused.
// Refusals (at accept, before a byte is read) and cuts (later) are counted by reason for
// /metrics. Pure bookkeeping, with the time passed in: https-server.c++ acts on its answers.
#pragma once
#include "client-access.h"
#include <kj/array.h>
#include <kj/string.h>
#include <kj/time.h>
#include <kj/vector.h>
#include <cstdint>
#include <sys/socket.h>

namespace horloge::monitord {

struct SlotLimits {
  unsigned total = 64;
  unsigned perSource = 4;
  unsigned reserved = 8;
  unsigned pressure = 32;                               // from this many open: short deadlines
  kj::Duration handshake = 5 * kj::SECONDS;             // TLS handshake
  kj::Duration header = 5 * kj::SECONDS;                // request head, or idle between requests
  kj::Duration pressuredHandshake = 1 * kj::SECONDS;
  kj::Duration pressuredHeader = 1 * kj::SECONDS;
  kj::Duration lifetime = 120 * kj::SECONDS;            // so that no client sits on a slot
};

enum class Phase : uint8_t { HANDSHAKE, WAITING, ACTIVE };   // ACTIVE: a request is served

enum class Refusal : uint8_t { NOT_ALLOWED, SOURCE_SHARE, FULL };
constexpr size_t REFUSAL_KINDS = 3;
enum class Cut : uint8_t { HANDSHAKE_DEADLINE, HEADER_DEADLINE, EVICTED, LIFETIME, TLS_FAILED };
constexpr size_t CUT_KINDS = 5;

// The label values /metrics uses: "not_allowed", "handshake_deadline", ...
kj::StringPtr refusalName(Refusal r);
kj::StringPtr cutName(Cut c);

// What /metrics shows of monitord's own connections.
struct ConnectionStats {
  uint64_t accepted = 0;                 // given a slot
  uint64_t refused[REFUSAL_KINDS] = {};  // closed at accept
  uint64_t cut[CUT_KINDS] = {};          // closed by monitord after accept
  unsigned open = 0;
};

class ConnectionSlots {
public:
  // `access` (may be null: everyone allowed, no reserve) must outlive this.
  ConnectionSlots(SlotLimits limits, const ClientAccess* access);

  struct Admission {
    bool admitted = false;
    uint64_t id = 0;                   // admitted: this connection's id
    Refusal refusal = Refusal::FULL;   // not admitted: why
    kj::Maybe<uint64_t> evict;         // admitted in the slot of this connection: close it
  };
  // A new peer at `now`, in the HANDSHAKE phase if admitted. Counted in stats().
  Admission admit(const sockaddr* peer, kj::TimePoint now);
  void setPhase(uint64_t id, Phase phase, kj::TimePoint now);
  // The connection is gone (closed for whatever reason): its slot is free.
  void release(uint64_t id);
  // Counts a cut made by the caller: those overdue() asks for, TLS failures (admit() counts the
  // evictions it asks for itself).
  void countCut(Cut cut) { ++counters.cut[static_cast<size_t>(cut)]; }

  struct Overdue {
    uint64_t id;
    Cut why;
  };
  // Connections past their phase's deadline at `now` (the short ones under pressure).
  kj::Vector<Overdue> overdue(kj::TimePoint now) const;

  bool underPressure() const { return open >= limits.pressure; }
  const ConnectionStats& stats() const { return counters; }
  const SlotLimits& settings() const { return limits; }

private:
  struct Source {
    uint64_t high = 0, low = 0;   // IPv4 address, or an IPv6 /64, and the family
    bool operator==(const Source& o) const { return high == o.high && low == o.low; }
  };
  struct Slot {
    bool used = false;
    uint64_t id = 0;
    Source source;
    bool insider = false;         // may use the reserved slots
    Phase phase = Phase::HANDSHAKE;
    kj::TimePoint since = kj::origin<kj::TimePoint>();     // phase start
    kj::TimePoint accepted = kj::origin<kj::TimePoint>();
  };
  SlotLimits limits;
  const ClientAccess* access;
  kj::Array<Slot> slots;
  uint64_t nextId = 1;
  unsigned open = 0;
  ConnectionStats counters;

  Slot* find(uint64_t id);
  unsigned holding(const Source& source) const;
  kj::Maybe<Slot&> victim(bool outsidersOnly, unsigned newcomerHolds);
};

}  // namespace horloge::monitord
