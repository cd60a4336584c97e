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

namespace {

bool synchronised(const Snapshot& s) {
  return s.pushed && s.leap != 3 && s.stratum > 0 && s.stratum < 16;
}

}  // namespace

Snapshot nextSnapshot(const Snapshot& previous, const Snapshot& next, bool starting,
                      int64_t maxHoldoverNs) {
  if (!starting || synchronised(next) || !synchronised(previous) ||
      next.pushedMonoNs - previous.pushedMonoNs > maxHoldoverNs) {
    return next;
  }
  Snapshot kept = previous;
  kept.modelOffsetNs = next.modelOffsetNs;
  kept.modelFrequency = next.modelFrequency;
  kept.modelAtNs = next.modelAtNs;
  return kept;
}

kj::Promise<void> StateListenerImpl::update(UpdateContext context) {
  auto wire = context.getParams().getState();
  Snapshot pushed = snapshotFromWire(wire, monotonicNs());
  Snapshot previous = cell.load();
  Snapshot next = nextSnapshot(previous, pushed, wire.getStarting(), maxHoldoverNs);
  cell.store(next);
  bool kept = next.pushedMonoNs != pushed.pushedMonoNs;
  if (kept && !keeping) {
    log::info(kj::str("clockd has no state of its own yet: serving the previous one (LI ",
                      next.leap, ", stratum ", next.stratum, ") until it has, or for at most ",
                      (maxHoldoverNs - (pushed.pushedMonoNs - next.pushedMonoNs)) / ntp::NS_PER_S,
                      " s"));
  }
  keeping = kept;
  bool wasSynced = synchronised(previous);
  bool synced = synchronised(next);
  if (!kept && (!previous.pushed || wasSynced != synced || previous.stratum != next.stratum ||
                previous.refid != next.refid)) {
    log::info(kj::str("server state: LI ", next.leap, ", stratum ", next.stratum, ", refid ",
                      kj::hex(next.refid)));
  }
  return kj::READY_NOW;
}

kj::Promise<void> StateListenerImpl::updateKeys(UpdateKeysContext context) {
  KJ_REQUIRE(ntsKeys != nullptr, "NTS is off here: no keys wanted");
  nts::KeySet keys = nts::keySetFromWire(context.getParams().getKeys());
  uint32_t current = keys.keys[keys.current].id;
  size_t n = keys.keys.size();
  bool changed = ntsKeys->generation() == 0 || ntsKeys->copy().keys.size() != n ||
                 ntsKeys->copy().find(current) == nullptr;
  ntsKeys->store(kj::mv(keys));
  if (changed) log::info(kj::str("NTS keys from clockd: ", n, " accepted"));
  return kj::READY_NOW;
}

}  // namespace horloge::netd
