// The RPC objects of clockd's three sockets, one per accepted connection. Each validates what
// its peer sends (validate.h) and hands it to the hub; none holds state beyond the number its
// connection was given (its generation).
#include "hub.h"
#include "validate.h"
#include <kj/debug.h>

namespace horloge::clockd {

namespace {

class RefclockFeedImpl final: public ipc::RefclockFeed::Server {
public:
  explicit RefclockFeedImpl(Hub& hub): hub(hub) {}
  ~RefclockFeedImpl() noexcept(false) { hub.refclockdClosed(generation); }

  kj::Promise<void> hello(HelloContext context) override {
    return hub.checked(roleName(Role::REFCLOCKD), [&]() {
      auto info = context.getParams().getInfo();
      validateDaemonInfo(info, ipc::Role::REFCLOCKD);
      generation = hub.refclockdHello(info);
    });
  }
  kj::Promise<void> pushSample(PushSampleContext context) override {
    return hub.checked(roleName(Role::REFCLOCKD), [&]() {
      KJ_REQUIRE(generation != 0, "hello first");
      auto s = context.getParams().getSample();
      validateSample(s);
      hub.refclockdSample(generation, s);
    });
  }
  kj::Promise<void> pushStatus(PushStatusContext context) override {
    return hub.checked(roleName(Role::REFCLOCKD), [&]() {
      KJ_REQUIRE(generation != 0, "hello first");
      auto list = context.getParams().getStatus();
      validateRefclockStatus(list);
      hub.refclockdStatus(generation, list);
      hub.fillHint(context.getResults().initHint());
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;   // this connection's number (Hub::Peer), 0 until hello
};

class NetdFeedImpl final: public ipc::NetdFeed::Server {
public:
  explicit NetdFeedImpl(Hub& hub): hub(hub) {}
  ~NetdFeedImpl() noexcept(false) { hub.netdClosed(generation); }

  kj::Promise<void> attach(AttachContext context) override {
    return hub.checked(roleName(Role::NETD), [&]() {
      auto params = context.getParams();
      validateDaemonInfo(params.getInfo(), ipc::Role::NETD);
      generation = hub.netdAttach(generation, params.getInfo(), params.getListener());
    });
  }
  kj::Promise<void> pushUpstream(PushUpstreamContext context) override {
    return hub.checked(roleName(Role::NETD), [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto s = context.getParams().getSample();
      validateUpstreamSample(s);
      hub.netdUpstream(s);
    });
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    return hub.checked(roleName(Role::NETD), [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto stats = context.getParams().getStats();
      validateNetdStats(stats);
      hub.netdStats(generation, stats);
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;   // this connection's number, 0 until attach
};

class NtskeFeedImpl final: public ipc::NtskeFeed::Server {
public:
  explicit NtskeFeedImpl(Hub& hub): hub(hub) {}
  ~NtskeFeedImpl() noexcept(false) { hub.ntskdClosed(generation); }

  kj::Promise<void> attach(AttachContext context) override {
    return hub.checked(roleName(Role::NTSKD), [&]() {
      auto params = context.getParams();
      validateDaemonInfo(params.getInfo(), ipc::Role::NTSKD);
      generation = hub.ntskdAttach(generation, params.getInfo(), params.getListener());
    });
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    return hub.checked(roleName(Role::NTSKD), [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto stats = context.getParams().getStats();
      validateNtskeStats(stats);
      hub.ntskdStats(generation, stats);
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;   // this connection's number, 0 until attach
};

class StatusReaderImpl final: public ipc::StatusReader::Server {
public:
  explicit StatusReaderImpl(Hub& hub): hub(hub) {}
  kj::Promise<void> getStatus(GetStatusContext context) override {
    hub.fillStatus(context.getResults().initStatus());
    return kj::READY_NOW;
  }

private:
  Hub& hub;
};

}  // namespace

ipc::RefclockFeed::Client Hub::newRefclockFeed() { return kj::heap<RefclockFeedImpl>(*this); }
ipc::NetdFeed::Client Hub::newNetdFeed() { return kj::heap<NetdFeedImpl>(*this); }
ipc::StatusReader::Client Hub::newStatusReader() { return kj::heap<StatusReaderImpl>(*this); }
ipc::NtskeFeed::Client Hub::newNtskeFeed() { return kj::heap<NtskeFeedImpl>(*this); }

}  // namespace horloge::clockd
