#include "status-client.h"

namespace horloge::ctl {

kj::Own<capnp::MallocMessageBuilder> fetchStatus(kj::AsyncIoContext& io,
                                                 const ipc::Endpoint& clockd, kj::Duration timeout) {
  auto call = ipc::connect(io, clockd).then([](kj::Own<ipc::Link> link) {
    auto reader = link->bootstrap().castAs<ipc::StatusReader>();
    return reader.getStatusRequest().send()
        .then([](capnp::Response<ipc::StatusReader::GetStatusResults> response) {
          auto copy = kj::heap<capnp::MallocMessageBuilder>();
          copy->setRoot(response.getStatus());
          return copy;
        })
        .attach(kj::mv(link));
  });
  return io.provider->getTimer().timeoutAfter(timeout, kj::mv(call)).wait(io.waitScope);
}

}  // namespace horloge::ctl
