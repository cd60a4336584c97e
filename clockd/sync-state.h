// The server's synchronisation state machine,
//   UNSYNCHRONISED -> LOCKED -> HOLDOVER -> UNSYNCHRONISED (or back to LOCKED),
// and the header netd advertises in each state.
#pragma once
#include "server-state.h"
#include "source-filter.h"
#include <horloge.capnp.h>
#include <cstdint>
#include <kj/string.h>

namespace horloge::clockd {

// The schema's states, as the status reports them (ipc::syncStateName names them).
using Sync = ipc::SyncState;

constexpr uint32_t refidFromText(const char (&s)[5]) {
  return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) |
         (uint32_t(uint8_t(s[2])) << 8) | uint32_t(uint8_t(s[3]));
}

// The refid as operators read it: ASCII for stratum 0/1 (`PPS`, `GPS`, `INIT`), a dotted quad
// above (an upstream's IPv4 address, or the hash of an IPv6 one), as ntpq and chronyc show it.
kj::String refidText(uint32_t refid, uint8_t stratum);

struct SyncParams {
  int lockSamples = 6;             // consecutive samples before claiming stratum 1
  int relockSamples = 3;           // the same, coming back from holdover
  int upstreamLockSamples = 3;     // an upstream server's: its iburst, not minutes of polls
  double sampleGap = 2.5;          // seconds: a larger gap breaks a run of samples
  double holdoverAfter = 5;        // seconds without a sample before LOCKED -> HOLDOVER
  double maxHoldover = 7200;       // seconds in HOLDOVER before UNSYNCHRONISED
  double wander = 15e-6;           // dispersion growth rate, s/s (RFC 5905 PHI)
  // Synchronised is claimed only once what is left to slew out is within the noise or this.
  double lockMaxOffset = 1e-3;     // s
};

class SyncStateMachine {
public:
  explicit SyncStateMachine(SyncParams p): params(p) {}

  // A validated sample has been added to `stats`; `localNs` is when it was taken. `unslewed`:
  // the offset the clock still has to slew out beyond what the noise explains (0: converged);
  // the state does not become LOCKED before it is 0.
  void onSample(const SourceStats& stats, int64_t localNs, double unslewed = 0);
  // Time passes; returns true when the state changed (reason() says why).
  bool tick(int64_t nowNs);

  // The source followed, as the reasons name it ("reference clock", "upstream 192.0.2.1"),
  // and the interval between its samples (1 s for a refclock, the poll interval for an
  // upstream): gaps and the holdover delay scale with it, and an upstream locks after
  // upstreamLockSamples.
  void setSource(kj::String name, double intervalS, bool upstream);

  Sync state() const { return current; }
  kj::StringPtr reason() const { return why; }
  int consecutive() const { return run; }
  ServerHeader header(int64_t nowNs) const;

private:
  SyncParams params;
  Sync current = Sync::UNSYNCHRONISED;
  kj::String why = kj::str("waiting for reference clock samples");
  SourceStats last;
  int64_t lastSampleNs = 0;
  int run = 0;
  bool changed = false;
  double interval = 1;
  bool upstream = false;
  kj::String source = kj::str("reference clock");

  void enter(Sync s, kj::String reason);
};

}  // namespace horloge::clockd
