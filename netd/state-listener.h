// clockd's pushes of the server state, received over IPC and stored for the workers.
// netd trusts clockd no more than clockd trusts netd: every field is checked, and a push that
// is out of range is refused (the call fails) and leaves the previous state in place.
#pragma once
#include "state-cell.h"
#include <horloge.capnp.h>

namespace horloge::netd {

// Validates `state` (KJ_REQUIRE: LI 0..3, stratum 0..16, precision -32..0) and converts it into
// a snapshot stamped with the CLOCK_MONOTONIC time of the push.
Snapshot snapshotFromWire(ipc::ServerState::Reader state, int64_t pushedMonoNs);

// The StateListener netd hands clockd in NetdFeed.attach(). Runs on the IPC thread, the one
// writer of `cell`.
class StateListenerImpl final: public ipc::StateListener::Server {
public:
  explicit StateListenerImpl(StateCell& cell): cell(cell) {}

protected:
  kj::Promise<void> update(UpdateContext context) override;

private:
  StateCell& cell;
};

}  // namespace horloge::netd
