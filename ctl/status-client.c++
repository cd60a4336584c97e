#include "status-client.h"
#include <capnp/rpc-twoparty.h>

namespace horloge::ctl {

namespace {

struct Connection {
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyClient rpc;   // after the stream, so destroyed before it
  explicit Connection(kj::Own<kj::AsyncIoStream> s): stream(kj::mv(s)), rpc(*stream) {}
};

}  // namespace

kj::Own<capnp::MallocMessageBuilder> fetchStatus(kj::AsyncIoContext& io, kj::StringPtr socketPath,
                                                 kj::Duration timeout) {
  auto call = io.provider->getNetwork().parseAddress(kj::str("unix:", socketPath))
      .then([](kj::Own<kj::NetworkAddress> address) { return address->connect(); })
      .then([](kj::Own<kj::AsyncIoStream> stream) {
        auto connection = kj::heap<Connection>(kj::mv(stream));
        auto reader = connection->rpc.bootstrap().castAs<ipc::StatusReader>();
        return reader.getStatusRequest().send()
            .then([](capnp::Response<ipc::StatusReader::GetStatusResults> response) {
              auto copy = kj::heap<capnp::MallocMessageBuilder>();
              copy->setRoot(response.getStatus());
              return copy;
            })
            .attach(kj::mv(connection));
      });
  return io.provider->getTimer().timeoutAfter(timeout, kj::mv(call)).wait(io.waitScope);
}

}  // namespace horloge::ctl
