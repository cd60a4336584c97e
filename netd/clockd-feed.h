// netd's side of netd.sock: on each connection to clockd, attach (DaemonInfo + a StateListener
// that clockd pushes the server state into), then push NetdStats at a fixed interval until the
// connection fails. ipc::keepConnected() runs one session per connection and reconnects.
#pragma once
#include "responder.h"
#include "state-cell.h"
#include <capnp/capability.h>
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>

namespace horloge::netd {

class ClockdFeed {
public:
  // `info` must outlive this object; `stats` is called on the IPC thread at every push.
  // `maxHoldoverNs` as the responder's: how long a state serves without clockd.
  ClockdFeed(kj::Timer& timer, StateCell& cell, kj::Function<ResponderStats()> stats,
             ipc::DaemonInfo::Reader info, int64_t maxHoldoverNs,
             kj::Duration interval = 1 * kj::SECONDS);
  KJ_DISALLOW_COPY(ClockdFeed);

  // The table whose busiest clients go into NetdStats.topClients (none: an empty list). Not
  // owned; read on the IPC thread at every push.
  void setTopClients(const TopClients* table) { top = table; }
  // NTS on: the cell clockd's key pushes go to (not owned).
  void setNtsKeys(NtsKeyCell* cell) { ntsKeys = cell; }

  // An ipc::Session: never resolves on its own, fails with the connection.
  kj::Promise<void> session(capnp::Capability::Client bootstrap);

private:
  kj::Timer& timer;
  StateCell& cell;
  kj::Function<ResponderStats()> stats;
  ipc::DaemonInfo::Reader info;
  int64_t maxHoldoverNs;
  kj::Duration interval;
  const TopClients* top = nullptr;
  NtsKeyCell* ntsKeys = nullptr;

  kj::Promise<void> pushStats(ipc::NetdFeed::Client feed);
};

}  // namespace horloge::netd
