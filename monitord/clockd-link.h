// monitord's read-only line to clockd's status socket. It reconnects forever (ipc::keepConnected)
// and holds the StatusReader only while a session is alive, so that a request never waits on a
// clockd that is known to be gone.
#pragma once
#include "ipc.h"
#include <horloge.capnp.h>
#include <kj/async-io.h>

namespace horloge::monitord {

class ClockdLink {
public:
  ClockdLink(kj::AsyncIoContext& io, ipc::Endpoint endpoint)
      : io(io), endpoint(kj::mv(endpoint)) {}
  KJ_DISALLOW_COPY(ClockdLink);

  // Keeps the connection up; never resolves. Destroying it (or this object) ends the link.
  kj::Promise<void> run();

  // The current capability, or nullptr while clockd is away.
  kj::Maybe<ipc::StatusReader::Client> reader();

private:
  kj::AsyncIoContext& io;
  kj::Maybe<ipc::Endpoint> endpoint;   // handed to the reconnect loop by run()
  kj::Maybe<ipc::StatusReader::Client> current;
};

}  // namespace horloge::monitord
