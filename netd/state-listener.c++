#include "state-listener.h"
#include "log.h"
#include "ntp-time.h"
#include <kj/debug.h>
#include <cmath>
#include <cstdlib>

namespace horloge::netd {

Snapshot snapshotFromWire(ipc::ServerState::Reader wire, int64_t pushedMonoNs,
                          int64_t pushedUnixNs) {
  ServerState state = readServerState(wire);
  const ServerHeader& h = state.header;
  KJ_REQUIRE(h.leap <= 3, "leap indicator out of range", h.leap);
  KJ_REQUIRE(h.stratum <= 16, "stratum out of range", h.stratum);
  KJ_REQUIRE(h.precision >= -32 && h.precision <= 0, "precision out of range", h.precision);
  // The clock model: a sim clock starts at most a day off (`clock sim offset`) or at another
  // date (`clock sim start`, 2020 to 2099: within 80 years, which keeps the served time of any
  // system time before 2150 within int64), and slews at most at the kernel's +-10 % tick plus
  // 500 ppm.
  constexpr int64_t MAX_MODEL_OFFSET_NS = int64_t(80) * 366 * 86400 * ntp::NS_PER_S;
  constexpr double MAX_MODEL_FREQUENCY = 0.1005;
  KJ_REQUIRE(std::llabs(state.model.offsetNs) <= MAX_MODEL_OFFSET_NS &&
             std::fabs(state.model.frequency) <= MAX_MODEL_FREQUENCY,
             "clock model out of range");
  // A leap is one second either way, at the clock's next midnight: within two days.
  KJ_REQUIRE(state.model.leapNs == 0 ||
             (std::llabs(state.model.leapNs) == ntp::NS_PER_S &&
              std::llabs(state.model.leapAtNs - pushedUnixNs) <= 2 * 86400 * ntp::NS_PER_S),
             "clock model leap out of range");
  // A slew is at most the model's rate; its end within a day (a day's worth of 1 s at 10 %).
  KJ_REQUIRE(std::isfinite(state.slew.rate) && state.slew.rate >= 0 &&
             state.slew.rate <= MAX_MODEL_FREQUENCY, "slew rate out of range");
  int64_t endIn = state.slew.endNs - pushedUnixNs;
  KJ_REQUIRE(state.slew.rate == 0 || std::llabs(endIn) <= 86400 * ntp::NS_PER_S,
             "slew end out of range");
  Snapshot s;
  static_cast<ServerHeader&>(s) = h;
  s.pushed = true;
  s.pushedMonoNs = pushedMonoNs;
  s.model = state.model;
  if (state.slew.rate > 0) {
    s.slewRate = state.slew.rate;
    s.slewEndMonoNs = pushedMonoNs + endIn;
  }
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
  kept.model = next.model;
  kept.slewEndMonoNs = next.slewEndMonoNs;
  kept.slewRate = next.slewRate;
  return kept;
}

kj::Promise<void> StateListenerImpl::update(UpdateContext context) {
  auto wire = context.getParams().getState();
  Snapshot pushed = snapshotFromWire(wire, monotonicNs(), realtimeNs());
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
