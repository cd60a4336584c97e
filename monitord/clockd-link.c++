#include "clockd-link.h"
#include <kj/debug.h>

namespace horloge::monitord {

kj::Promise<void> ClockdLink::run() {
  auto where = kj::mv(KJ_ASSERT_NONNULL(endpoint, "ClockdLink::run() called twice"));
  endpoint = nullptr;
  return ipc::keepConnected(io, kj::mv(where), kj::str("clockd"),
      [this](capnp::Capability::Client bootstrap) -> kj::Promise<void> {
        current = bootstrap.castAs<ipc::StatusReader>();
        // The session lasts until keepConnected sees the disconnect and drops this promise;
        // dropping it runs the guard, so `current` never outlives the connection.
        return kj::Promise<void>(kj::NEVER_DONE).attach(kj::defer([this]() { current = nullptr; }));
      });
}

kj::Maybe<ipc::StatusReader::Client> ClockdLink::reader() {
  KJ_IF_MAYBE(c, current) return *c;
  return nullptr;
}

}  // namespace horloge::monitord
