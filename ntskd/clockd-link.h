// ntskd's side of ntske.sock: on each connection to clockd, attach (DaemonInfo + a KeyListener
// clockd pushes the server keys into), then push NtskeStats every second until the connection
// fails. ipc::keepConnected() runs one session per connection and reconnects; meanwhile the
// KE server keeps the keys it has.
#pragma once
#include "ke-server.h"
#include <capnp/capability.h>
#include <horloge.capnp.h>

namespace horloge::ntskd {

class ClockdLink {
public:
  // `info` and `server` must outlive this object.
  ClockdLink(kj::Timer& timer, KeServer& server, ipc::DaemonInfo::Reader info);
  KJ_DISALLOW_COPY(ClockdLink);

  kj::Promise<void> session(capnp::Capability::Client bootstrap);

private:
  kj::Timer& timer;
  KeServer& server;
  ipc::DaemonInfo::Reader info;

  kj::Promise<void> pushStats(ipc::NtskeFeed::Client feed);
};

// KeStats as the wire carries them (key age from `keys` at `nowNs`; -1 without keys).
void fillStats(const KeStats& s, const kj::Maybe<nts::KeySet>& keys, int64_t nowNs,
               ipc::NtskeStats::Builder out);

}  // namespace horloge::ntskd
