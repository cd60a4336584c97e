// The server state clockd pushes and netd serves (ipc::ServerState), as one plain C++ type on
// both sides: clockd builds it (clockd/reference.h), netd keeps it in its seqlock (netd/
// state-cell.h) and ages it for each batch of replies (netd/packet.h). The Cap'n Proto struct
// is written and read only here.
#pragma once
#include <horloge.capnp.h>
#include <cstdint>

namespace horloge {

// The refid of a server that has never been synchronised since it started.
constexpr uint32_t REFID_INIT = 0x494e4954;   // "INIT"

// What every reply's header carries, in wire formats. The defaults: unsynchronised.
struct ServerHeader {
  uint8_t leap = 3;               // LI, 0..3
  uint8_t stratum = 16;
  int8_t precision = -20;         // log2 s
  uint32_t refid = REFID_INIT;
  uint64_t referenceTime = 0;     // NTP timestamp
  uint32_t rootDelay = 0;         // NTP short
  uint32_t rootDispersion = 0;    // NTP short
};

// The clock netd serves relative to the system clock:
//   served = system + offsetNs + frequency * (system - atNs).
// The identity (all 0) but for `clock sim`, whose virtual clock clockd disciplines.
// A leap the model's clock makes at its next midnight (the sim clock, as the kernel would) moves
// the served time by leapNs from system time leapAtNs: netd serves it on time, not at clockd's
// next push.
struct ClockModel {
  int64_t offsetNs = 0;
  double frequency = 0;           // s/s
  int64_t atNs = 0;               // Unix ns (system clock) the offset is given at
  int64_t leapAtNs = 0;           // Unix ns (system clock); with leapNs 0: none
  int64_t leapNs = 0;             // -1 s (inserted), +1 s (deleted) or 0
};

// The served time for a system clock reading. Arithmetic only: safe on netd's hot path.
inline int64_t served(const ClockModel& m, int64_t systemNs) {
  if (m.offsetNs == 0 && m.frequency == 0 && m.leapNs == 0) return systemNs;
  int64_t t = systemNs + m.offsetNs +
              static_cast<int64_t>(m.frequency * static_cast<double>(systemNs - m.atNs));
  return m.leapNs != 0 && systemNs >= m.leapAtNs ? t + m.leapNs : t;
}

// A slew clockd has planned to end at `endNs` (Unix ns, system clock); past it, until clockd
// ends it, the clock moves `rate` s/s beyond what the header assumed. rate 0: none.
struct PlannedSlew {
  int64_t endNs = 0;
  double rate = 0;                // s/s, >= 0
};

struct ServerState {
  ServerHeader header;
  ClockModel model;
  bool starting = false;          // ServerState.starting: clockd has no state of its own yet
  PlannedSlew slew;
};

// The header fields alone (ClockStatus.server carries no model).
void writeServerHeader(ipc::ServerState::Builder out, const ServerHeader& h);
void writeServerState(ipc::ServerState::Builder out, const ServerState& s);
// Every field as sent, unchecked: the receiver validates (netd/state-listener.h).
ServerState readServerState(ipc::ServerState::Reader in);

}  // namespace horloge
