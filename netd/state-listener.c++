#include "state-listener.h"
#include "log.h"
#include "ntp-time.h"
#include <kj/debug.h>

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
  // The clock model: a sim clock is within seconds of the system clock, and runs at its
  // frequency error plus our correction: up to 500 ppm, and 10 % more while a large offset is
  // slewed out fast (the kernel's tick length allows as much).
  KJ_REQUIRE(state.getModelOffsetNs() >= -10'000'000'000 && state.getModelOffsetNs() <= 10'000'000'000 &&
             state.getModelFrequency() >= -0.11 && state.getModelFrequency() <= 0.11,
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
