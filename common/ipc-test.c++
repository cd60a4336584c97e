#include "ipc.h"
#include <capnp/rpc-twoparty.h>
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <unistd.h>

using namespace horloge;

namespace {

struct Reader final: public ipc::StatusReader::Server {
  int64_t mark;
  explicit Reader(int64_t mark): mark(mark) {}
  kj::Promise<void> getStatus(GetStatusContext context) override {
    context.getResults().initStatus().setGeneratedNs(mark);
    return kj::READY_NOW;
  }
};

kj::String tempSocket() {
  static int n = 0;
  return kj::str("/tmp/horloge-ipc-test-", getpid(), "-", n++, ".sock");
}

kj::Promise<int64_t> ask(kj::AsyncIoContext& io, kj::StringPtr path) {
  return io.provider->getNetwork().parseAddress(kj::str("unix:", path))
      .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
      .then([](kj::Own<kj::AsyncIoStream> stream) {
        auto client = kj::heap<capnp::TwoPartyClient>(*stream);
        auto reader = client->bootstrap().castAs<ipc::StatusReader>();
        return reader.getStatusRequest().send()
            .then([](auto r) { return r.getStatus().getGeneratedNs(); })
            .attach(kj::mv(client), kj::mv(stream));
      });
}

}  // namespace

TEST_CASE("ipc: a permitted peer gets the role's capability") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto serving = ipc::serve(*listener, kj::heapArray<uid_t>({getuid()}),
                            []() { return kj::heap<Reader>(7); }, "test").eagerlyEvaluate(nullptr);
  CHECK(ask(io, path).wait(io.waitScope) == 7);
  unlink(path.cStr());
}

TEST_CASE("ipc: a peer with another uid is refused") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto serving = ipc::serve(*listener, kj::heapArray<uid_t>({getuid() + 4242}),
                            []() { return kj::heap<Reader>(7); }, "test").eagerlyEvaluate(nullptr);
  CHECK_THROWS(ask(io, path).wait(io.waitScope));
  unlink(path.cStr());
}

TEST_CASE("ipc: keepConnected waits for the peer and comes back after it restarts") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  int sessions = 0;
  int64_t lastMark = 0;
  auto connected = ipc::keepConnected(io, kj::str(path), kj::str("test peer"),
      [&](capnp::Capability::Client cap) -> kj::Promise<void> {
        ++sessions;
        auto reader = cap.castAs<ipc::StatusReader>();
        return reader.getStatusRequest().send().then([&](auto r) {
          lastMark = r.getStatus().getGeneratedNs();
          return kj::Promise<void>(kj::NEVER_DONE);
        });
      }).eagerlyEvaluate([](kj::Exception&& e) { FAIL(e.getDescription().cStr()); });
  auto& timer = io.provider->getTimer();
  timer.afterDelay(300 * kj::MILLISECONDS).wait(io.waitScope);   // nobody there yet
  CHECK(sessions == 0);

  for (int generation = 1; generation <= 2; ++generation) {
    auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
    auto serving = ipc::serve(*listener, nullptr, [generation]() { return kj::heap<Reader>(generation); },
                              "test").eagerlyEvaluate(nullptr);
    for (int i = 0; i < 100 && lastMark != generation; ++i)
      timer.afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
    CHECK(lastMark == generation);
    CHECK(sessions == generation);
    // Leaving the scope destroys the server and its connections: the peer "restarts".
  }
  unlink(path.cStr());
}
