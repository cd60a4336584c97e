#include "state-listener.h"
#include "log.h"
#include "ntp-time.h"
#include <kj/debug.h>
#include <cmath>
#include <cstdlib>

namespace horloge::netd {

Snapshot snapshotFromWire(ipc::ServerState::Reader state, int64_t pushedMonoNs) {
  KJ_REQUIRE(state.getLeap() <= 3, "leap indicator out of range", state.getLeap());
  KJ_REQUIRE(state.getStratum() <= 16, "stratum out of range", state.getStratum());
  KJ_REQUIRE(state.getPrecision() >= -32 && state.getPrecision() <= 0,
             "precision out of range", state.getPrecision());
  Snapshot s;
  s.pushed = true;
  s.leap = state.getLeap();
  s.stratum = state.getStratum();
  s.precision = state.getPrecision();
  s.refid = state.getRefid();
  s.referenceTime = state.getReferenceTime();
  s.rootDelay = state.getRootDelay();
  s.rootDispersion = state.getRootDispersion();
  s.pushedMonoNs = pushedMonoNs;
  // The clock model: a sim clock starts at most a day off (`clock sim offset`), and slews at
  // most at the kernel's +-10 % tick plus 500 ppm.
  constexpr int64_t MAX_MODEL_OFFSET_NS = 2 * 86400 * ntp::NS_PER_S;
  constexpr double MAX_MODEL_FREQUENCY = 0.1005;
  KJ_REQUIRE(std::llabs(state.getModelOffsetNs()) <= MAX_MODEL_OFFSET_NS &&
             std::fabs(state.getModelFrequency()) <= MAX_MODEL_FREQUENCY,
             "clock model out of range");
  s.modelOffsetNs = state.getModelOffsetNs();
  s.modelFrequency = state.getModelFrequency();
  s.modelAtNs = state.getModelAtNs();
  return s;
}

kj::Promise<void> StateListenerImpl::update(UpdateContext context) {
  Snapshot next = snapshotFromWire(context.getParams().getState(), monotonicNs());
  Snapshot previous = cell.load();
  cell.store(next);
  bool wasSynced = previous.pushed && previous.leap != 3 && previous.stratum > 0 && previous.stratum < 16;
  bool synced = next.leap != 3 && next.stratum > 0 && next.stratum < 16;
  if (!previous.pushed || wasSynced != synced || previous.stratum != next.stratum ||
      previous.refid != next.refid) {
    log::info(kj::str("server state: LI ", next.leap, ", stratum ", next.stratum, ", refid ",
                      kj::hex(next.refid)));
  }
  return kj::READY_NOW;
}

}  // namespace horloge::netd
