// The relay's closed loop, as pure logic (no I/O, no clock reads): what clockd does with the
// exchanges netd has with its upstream servers, and what the clknetsim harness does with its
// own (bench/relay.md), so that both run the same rules:
//   - each exchange becomes a sample of its server, kept as a free-running phase so that it
//     stays true whatever the clock was made to do since (upstreams.h);
//   - every new sample of a server that selection marks '*' or '+' goes to the discipline once,
//     corrected for the path's asymmetry, with the 1-sigma error its delay implies (the Kalman
//     filter weighs it with that); no sample is used twice;
//   - the relay claims to be synchronised only once what is still to be slewed out plus three
//     sigma of the estimate fits inside what the path to the server already costs.
#pragma once
#include "discipline.h"
#include "selection.h"
#include "upstreams.h"
#include <cstdint>
#include <kj/string.h>
#include <vector>

namespace horloge::clockd {

// One poll of one server as netd reports it (NetdFeed.pushUpstream), in plain types.
struct UpstreamReport {
  kj::String address;
  bool noselect = false, prefer = false, stopped = false;
  int8_t poll = 0;
  uint8_t reach = 0;
  bool valid = false;                 // a reply: the fields below are set
  int64_t t1Ns = 0, t2Ns = 0, t3Ns = 0, t4Ns = 0;
  uint8_t stratum = 16, leap = 3;
  uint32_t refid = 0;
  double rootDelay = 0, rootDispersion = 0;   // s
};

// A negative round trip within FLOOR + SLEW x the local round trip is our own slew (at most
// 83,333 ppm, as chrony's maxslewrate) or rounding, and is taken as its magnitude; a larger one
// refuses the reply (UpstreamSource::inconsistent). Clamping it to 0 would make the sample look
// perfect.
constexpr double NEGATIVE_DELAY_FLOOR = 1e-6;      // s
constexpr double NEGATIVE_DELAY_SLEW = 0.1;

enum class Intake : uint8_t { NO_SAMPLE, NO_SAMPLE_NEW_LOOP, SAMPLE, SAMPLE_NEW_LOOP };

// Takes a report into `u`. A reply becomes a sample: `bias` is added to its offset (the sim
// clock's own error), `phaseNow` is Discipline::phaseCorrection at its T4. `own`: our
// addresses as refids, for loop detection.
Intake takeReport(UpstreamSource& u, const UpstreamReport& r, double bias, double phaseNow,
                  const std::vector<uint32_t>& own);

// Whether selection's mark lets a server's samples steer the clock.
inline bool steers(Mark m) { return m == Mark::SELECTED || m == Mark::COMBINED; }

// At start-up the servers do not all answer synchronised at once (Stratum-1s lock one after
// another): the first alone is no majority, and would be followed even if it were the
// falseticker. A server is starting while it answers (within three polls) but has never been
// usable, for at most STARTUP_WAIT s after its first answer; no upstream is chosen while the
// usable ones are not a strict majority of the usable and the starting.
constexpr double STARTUP_WAIT = 120;
bool startingUp(const UpstreamSource& u, int64_t nowNs);
template <typename Servers>
bool upstreamQuorum(const Servers& servers, int64_t nowNs) {
  int usable = 0, starting = 0;
  for (const UpstreamSource& u: servers) {
    if (!u.heard || u.noselect) continue;
    usable += u.usable(nowNs);
    starting += startingUp(u, nowNs);
  }
  return 2 * usable > usable + starting;
}

// Whether a relay following `u` can bound its error at system time `nowNs` (`reading`: what
// the steered clock reads then, the discipline's time): the offset still to slew out plus 3
// sigma of the estimate within the server's own error interval.
bool relayBounded(const UpstreamSource& u, const Discipline& d, int64_t nowNs, double reading);

}  // namespace horloge::clockd
