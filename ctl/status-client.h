// One getStatus call to clockd's status socket, for horlogectl.
#pragma once
#include "ipc.h"
#include <capnp/message.h>
#include <horloge.capnp.h>
#include <kj/async-io.h>

namespace horloge::ctl {

// Connects to the StatusReader at `clockd` (checking that clockd's user or root serves it),
// asks once and returns a copy of the answer (root: ipc::SystemStatus). Throws kj::Exception
// when clockd cannot be reached, is not who serves the socket, closes the connection, fails the
// call, or does not answer within `timeout`.
kj::Own<capnp::MallocMessageBuilder> fetchStatus(kj::AsyncIoContext& io,
                                                 const ipc::Endpoint& clockd, kj::Duration timeout);

}  // namespace horloge::ctl
