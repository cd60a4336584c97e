// clockd's pushes of the server state, received over IPC and stored for the workers.
// netd trusts clockd no more than clockd trusts netd: every field is checked, and a push that
// is out of range is refused (the call fails) and leaves the previous state in place.
#pragma once
#include "nts-key-cell.h"
#include "state-cell.h"
#include <horloge.capnp.h>

namespace horloge::netd {

// Validates `state` (KJ_REQUIRE: LI 0..3, stratum 0..16, precision -32..0) and converts it into
// a snapshot stamped with the CLOCK_MONOTONIC time of the push, `pushedUnixNs` on the system
// clock (the planned slew end is given on it).
Snapshot snapshotFromWire(ipc::ServerState::Reader state, int64_t pushedMonoNs,
                          int64_t pushedUnixNs);

// What netd stores for a push `next` when it holds `previous`. Normally `next`. But a clockd
// that has just started (ServerState.starting: it has no state of its own yet) must not turn a
// synchronised server into LI=3 while it acquires: then netd keeps `previous`'s header, and its
// age (the dispersion keeps growing at 15 ppm of the time since that push, as when clockd is
// away), until a push without `starting` or maxholdover after that push. The clock model is
// always `next`'s, and so is its slew: they describe the clock (the sim clock is continued
// across the restart).
Snapshot nextSnapshot(const Snapshot& previous, const Snapshot& next, bool starting,
                      int64_t maxHoldoverNs);

// The StateListener netd hands clockd in NetdFeed.attach(). Runs on the IPC thread, the one
// writer of `cell`.
class StateListenerImpl final: public ipc::StateListener::Server {
public:
  // `ntsKeys`: where NTS keys go (NTS on), else null: a key push is then refused.
  StateListenerImpl(StateCell& cell, int64_t maxHoldoverNs, NtsKeyCell* ntsKeys = nullptr)
      : cell(cell), maxHoldoverNs(maxHoldoverNs), ntsKeys(ntsKeys) {}

protected:
  kj::Promise<void> update(UpdateContext context) override;
  // Checked (nts::keySetFromWire) before the workers see them.
  kj::Promise<void> updateKeys(UpdateKeysContext context) override;

private:
  StateCell& cell;
  int64_t maxHoldoverNs;
  NtsKeyCell* ntsKeys;
  bool keeping = false;        // the last push kept the previous state (logged once)
};

}  // namespace horloge::netd
