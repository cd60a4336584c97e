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
  ClockdLink(kj::AsyncIoContext& io, kj::String path): io(io), path(kj::mv(path)) {}
  KJ_DISALLOW_COPY(ClockdLink);

  // Keeps the connection up; never resolves. Destroying it (or this object) ends the link.
  kj::Promise<void> run();

  // The current capability, or nullptr while clockd is away.
  kj::Maybe<ipc::StatusReader::Client> reader();

private:
  kj::AsyncIoContext& io;
  kj::String path;
  kj::Maybe<ipc::StatusReader::Client> current;
};

}  // namespace horloge::monitord
