#include "ipc.h"
#include "forwarding-stream.h"
#include <capnp/serialize.h>
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <kj/debug.h>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace horloge;

namespace {

struct Reader final: public ipc::StatusReader::Server {
  int64_t mark;
  size_t padding;   // bytes of text in each answer
  explicit Reader(int64_t mark, size_t padding = 0): mark(mark), padding(padding) {}
  kj::Promise<void> getStatus(GetStatusContext context) override {
    auto status = context.getResults().initStatus();
    status.setGeneratedNs(mark);
    if (padding > 0) status.initClock().initReason(padding);
    return kj::READY_NOW;
  }
};

kj::String tempSocket() {
  static int n = 0;
  return kj::str("/tmp/horloge-ipc-test-", getpid(), "-", n++, ".sock");
}

ipc::Endpoint endpoint(kj::StringPtr path, kj::Array<uid_t> trusted = kj::heapArray<uid_t>({getuid()})) {
  return {kj::str(path), ipc::STATUS_SOCKET, kj::mv(trusted)};
}

kj::Promise<int64_t> ask(kj::AsyncIoContext& io, const ipc::Endpoint& where) {
  return ipc::connect(io, where).then([](kj::Own<ipc::Link> link) {
    auto reader = link->bootstrap().castAs<ipc::StatusReader>();
    return reader.getStatusRequest().send()
        .then([](auto r) { return r.getStatus().getGeneratedNs(); })
        .attach(kj::mv(link));
  });
}

kj::Own<kj::AsyncIoStream> rawConnect(kj::AsyncIoContext& io, kj::StringPtr path) {
  return io.provider->getNetwork().parseAddress(kj::str("unix:", path))
      .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
      .wait(io.waitScope);
}

// Whether the server closed `stream` within `limit`: reads (discarding) until EOF or a reset
// (closed with our bytes unread).
bool closedWithin(kj::AsyncIoContext& io, kj::AsyncIoStream& stream, kj::Duration limit) {
  auto buffer = kj::heapArray<kj::byte>(4096);
  kj::Function<kj::Promise<bool>()> drain = [&]() -> kj::Promise<bool> {
    return stream.tryRead(buffer.begin(), 1, buffer.size()).then([&](size_t n) -> kj::Promise<bool> {
      if (n == 0) return true;
      return drain();
    });
  };
  return drain().catch_([](kj::Exception&&) { return true; })
      .exclusiveJoin(io.provider->getTimer().afterDelay(limit).then([]() { return false; }))
      .wait(io.waitScope);
}

// A stream that writes but never reads: a peer that asks and leaves the answers unread.
class DeafStream final: public ForwardingStream {
public:
  explicit DeafStream(kj::Own<kj::AsyncIoStream> inner): ForwardingStream(kj::mv(inner)) {}
  kj::Promise<size_t> tryRead(void*, size_t, size_t) override { return kj::NEVER_DONE; }
  kj::AsyncIoStream& wrapped() { return *inner; }
};

}  // namespace

TEST_CASE("ipc: a permitted peer gets the role's capability") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto serving = ipc::serve(io.provider->getTimer(), *listener, ipc::STATUS_SOCKET,
                            kj::heapArray<uid_t>({getuid()}),
                            []() { return kj::heap<Reader>(7); }).eagerlyEvaluate(nullptr);
  CHECK(ask(io, endpoint(path)).wait(io.waitScope) == 7);
  unlink(path.cStr());
}

TEST_CASE("ipc: a peer with another uid is refused") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto serving = ipc::serve(io.provider->getTimer(), *listener, ipc::STATUS_SOCKET,
                            kj::heapArray<uid_t>({getuid() + 4242}),
                            []() { return kj::heap<Reader>(7); }).eagerlyEvaluate(nullptr);
  CHECK_THROWS(ask(io, endpoint(path)).wait(io.waitScope));
  unlink(path.cStr());
}

TEST_CASE("ipc: a client refuses a socket that someone else than clockd's user or root serves") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  int calls = 0;
  auto serving = ipc::serve(io.provider->getTimer(), *listener, ipc::STATUS_SOCKET, nullptr,
                            [&]() { ++calls; return kj::heap<Reader>(7); }).eagerlyEvaluate(nullptr);
  auto impostor = endpoint(path, kj::heapArray<uid_t>({getuid() + 4242}));
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { ask(io, impostor).wait(io.waitScope); })) {
    CHECK(e->getDescription() ==
          kj::str(path, " is served by uid ", getuid(),
                  ", which is neither clockd's user nor root: not trusted"));
  } else {
    FAIL("an untrusted server was used");
  }
  // clockd's endpoint trusts root, clockd's user and ourselves.
  Config config;
  config.rundir = "/run/x";
  auto real = ipc::clockdEndpoint(config, ipc::STATUS_SOCKET);
  CHECK(real.path == "/run/x/status.sock");
  CHECK(real.trustedUids[0] == 0);
  bool self = false;
  for (uid_t u: real.trustedUids) self = self || u == geteuid();
  CHECK(self);
  unlink(path.cStr());
}

TEST_CASE("ipc: keepConnected waits for the peer and comes back after it restarts") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  int sessions = 0;
  int64_t lastMark = 0;
  auto connected = ipc::keepConnected(io, endpoint(path), kj::str("test peer"),
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
    auto serving = ipc::serve(timer, *listener, ipc::STATUS_SOCKET, nullptr,
                              [generation]() { return kj::heap<Reader>(generation); })
                       .eagerlyEvaluate(nullptr);
    for (int i = 0; i < 100 && lastMark != generation; ++i)
      timer.afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
    CHECK(lastMark == generation);
    CHECK(sessions == generation);
    // Leaving the scope destroys the server and its connections: the peer "restarts".
  }
  unlink(path.cStr());
}

TEST_CASE("ipc: a message larger than the socket's limit closes the connection, unread") {
  auto io = kj::setupAsyncIo();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto serving = ipc::serve(io.provider->getTimer(), *listener, ipc::STATUS_SOCKET, nullptr,
                            []() { return kj::heap<Reader>(7); }).eagerlyEvaluate(nullptr);
  // One segment of 8 Mi words announced (capnp's default limit: 64 MB), a few bytes sent.
  auto stream = rawConnect(io, path);
  uint32_t table[2] = {0, 8u << 20};
  stream->write(table, sizeof(table)).wait(io.waitScope);
  stream->write("0123456789abcdef", 16).wait(io.waitScope);
  CHECK(closedWithin(io, *stream, 2 * kj::SECONDS));
  // Just over the limit is refused too; the server still answers everyone else.
  auto again = rawConnect(io, path);
  table[1] = uint32_t(ipc::STATUS_SOCKET.hubReadWords + 1);
  again->write(table, sizeof(table)).wait(io.waitScope);
  CHECK(closedWithin(io, *again, 2 * kj::SECONDS));
  CHECK(ask(io, endpoint(path)).wait(io.waitScope) == 7);
  unlink(path.cStr());
}

TEST_CASE("ipc: connections past the cap are closed, silent ones after a while") {
  auto io = kj::setupAsyncIo();
  auto& timer = io.provider->getTimer();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  ipc::Socket socket = ipc::STATUS_SOCKET;
  socket.maxConnections = 3;
  socket.silentLimit = 500 * kj::MILLISECONDS;
  auto serving = ipc::serve(timer, *listener, socket, nullptr,
                            []() { return kj::heap<Reader>(7); }).eagerlyEvaluate(nullptr);
  kj::Vector<kj::Own<kj::AsyncIoStream>> held;
  for (int i = 0; i < 3; ++i) held.add(rawConnect(io, path));
  timer.afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
  auto extra = rawConnect(io, path);
  CHECK(closedWithin(io, *extra, 1 * kj::SECONDS));
  // The three said nothing: gone after the silent limit, and room again for a real client.
  for (auto& s: held) CHECK(closedWithin(io, *s, 3 * kj::SECONDS));
  CHECK(ask(io, endpoint(path)).wait(io.waitScope) == 7);
  unlink(path.cStr());
}

TEST_CASE("ipc: a peer that asks without reading the answers is dropped") {
  auto io = kj::setupAsyncIo();
  auto& timer = io.provider->getTimer();
  auto path = tempSocket();
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  ipc::Socket socket = ipc::STATUS_SOCKET;
  socket.maxQueuedBytes = 256 << 10;
  auto serving = ipc::serve(timer, *listener, socket, nullptr,
                            []() { return kj::heap<Reader>(7, 30000); }).eagerlyEvaluate(nullptr);
  auto deaf = kj::heap<DeafStream>(rawConnect(io, path));
  auto& inner = deaf->wrapped();
  ipc::Link link(kj::mv(deaf), ipc::STATUS_SOCKET);
  auto reader = link.bootstrap().castAs<ipc::StatusReader>();
  kj::Vector<kj::Promise<void>> calls;
  // 400 answers of 30 kB: far more than the socket buffers and the 256 KiB allowed.
  for (int i = 0; i < 400; ++i) {
    calls.add(reader.getStatusRequest().send().ignoreResult().catch_([](kj::Exception&&) {}));
  }
  timer.afterDelay(1500 * kj::MILLISECONDS).wait(io.waitScope);
  // Dropped: reading what the socket holds now ends in EOF (kept: it would go on for 12 MB).
  bool dropped = closedWithin(io, inner, 3 * kj::SECONDS);
  CHECK(dropped);
  unlink(path.cStr());
}

TEST_CASE("ipc: secureDirectory repairs a directory others may write to, refuses a stranger's") {
  auto dir = kj::str("/tmp/horloge-ipc-test-dir-", getpid());
  REQUIRE(mkdir(dir.cStr(), 0700) == 0);
  REQUIRE(chmod(dir.cStr(), 0777) == 0);
  ipc::secureDirectory(dir, 0755, {geteuid(), getegid(), 0755}, "rundir");
  struct stat st;
  REQUIRE(stat(dir.cStr(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  // Made when absent.
  auto sub = kj::str(dir, "/state");
  ipc::secureDirectory(sub, 0750, {geteuid(), getegid(), 0750}, "statedir");
  REQUIRE(stat(sub.cStr(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  if (geteuid() == 0) {
    // Owned by someone else than root or the owner named: nothing in it can be trusted.
    REQUIRE(chown(sub.cStr(), 4242, 4242) == 0);
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      ipc::secureDirectory(sub, 0750, {4343, 4343, 0750}, "statedir");
    })) {
      CHECK(e->getDescription() ==
            kj::str("statedir ", sub, ": owned by uid 4242, neither root nor uid 4343: another "
                    "user could replace what is in it; refusing it"));
    } else {
      FAIL("a stranger's directory accepted");
    }
  }
  auto file = kj::str(dir, "/file");
  FILE* f = fopen(file.cStr(), "w");
  fclose(f);
  CHECK_THROWS(ipc::secureDirectory(file, 0755, {geteuid(), getegid(), 0755}, "rundir"));
  unlink(file.cStr());
  rmdir(sub.cStr());
  rmdir(dir.cStr());
}
