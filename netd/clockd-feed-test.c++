#include "clockd-feed.h"
#include "ipc.h"
#include "ntp-time.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/debug.h>
#include <kj/vector.h>
#include <unistd.h>

using namespace horloge;
using namespace horloge::netd;

namespace {

// Plays clockd: records what netd sends and pushes one state on attach.
struct FakeClockd {
  kj::Vector<kj::Own<capnp::MallocMessageBuilder>> stats;
  int attaches = 0;
  uint32_t pid = 0;
  bool starting = false;      // push what a freshly started clockd pushes
  kj::Maybe<ipc::StateListener::Client> listener;
};

class FakeFeed final: public ipc::NetdFeed::Server {
public:
  explicit FakeFeed(FakeClockd& fake): fake(fake) {}

protected:
  kj::Promise<void> attach(AttachContext context) override {
    auto params = context.getParams();
    ++fake.attaches;
    fake.pid = params.getInfo().getPid();
    auto listener = params.getListener();
    fake.listener = listener;
    auto update = listener.updateRequest();
    auto s = update.initState();
    if (fake.starting) {
      // A clockd that has just started: nothing of its own yet, but its clock model.
      s.setLeap(3);
      s.setStratum(16);
      s.setRefid(0x494e4954);
      s.setModelOffsetNs(1234);
      s.setStarting(true);
      return update.send().ignoreResult();
    }
    s.setLeap(0);
    s.setStratum(1);
    s.setPrecision(-22);
    s.setRefid(0x50505300);
    s.setReferenceTime(ntp::fromUnixNs(realtimeNs()));
    s.setRootDispersion(7);
    return update.send().ignoreResult();
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    auto m = kj::heap<capnp::MallocMessageBuilder>();
    m->setRoot(context.getParams().getStats());
    fake.stats.add(kj::mv(m));
    return kj::READY_NOW;
  }

private:
  FakeClockd& fake;
};

// Runs the loop until `done()` or a timeout.
bool waitFor(kj::AsyncIoContext& io, kj::Function<bool()> done, kj::Duration timeout) {
  auto deadline = io.provider->getTimer().now() + timeout;
  while (!done()) {
    if (io.provider->getTimer().now() >= deadline) return false;
    io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
  }
  return true;
}

}  // namespace

TEST_CASE("netd attaches to clockd, takes its state, pushes stats, keeps it across a clockd restart") {
  auto io = kj::setupAsyncIo();
  char dir[] = "/tmp/netd-feed-test.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  auto path = kj::str(dir, "/netd.sock");

  capnp::MallocMessageBuilder infoMessage;
  auto info = infoMessage.initRoot<ipc::DaemonInfo>();
  info.setPid(4242);
  StateCell cell;
  ResponderStats counters;
  counters[NetdCounter::RECEIVED] = 10;
  counters[NetdCounter::ANSWERED] = 7;
  counters[dropCounter(Drop::MODE)] = 2;
  counters[NetdCounter::KERNEL_RX_STAMPS] = 10;
  ClockdFeed feed(io.provider->getTimer(), cell, [&]() { return counters; }, info.asReader(),
                  7200 * ntp::NS_PER_S, 50 * kj::MILLISECONDS);

  FakeClockd fake;
  auto startServer = [&]() {
    auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
    auto serving = ipc::serve(io.provider->getTimer(), *listener, ipc::NETD_SOCKET, nullptr,
                              [&]() -> capnp::Capability::Client { return kj::heap<FakeFeed>(fake); });
    return serving.attach(kj::mv(listener)).eagerlyEvaluate(nullptr);
  };
  auto server = startServer();
  auto client = ipc::keepConnected(
      io, ipc::Endpoint{kj::str(path), ipc::NETD_SOCKET, kj::heapArray<uid_t>({getuid()})},
      kj::str("clockd"),
      [&](capnp::Capability::Client bootstrap) { return feed.session(kj::mv(bootstrap)); })
      .eagerlyEvaluate([](kj::Exception&& e) { KJ_LOG(ERROR, e); });

  REQUIRE(waitFor(io, [&]() { return fake.stats.size() >= 2; }, 3 * kj::SECONDS));
  CHECK(fake.attaches == 1);
  CHECK(fake.pid == 4242);
  Snapshot s = cell.load();
  CHECK(s.pushed);
  CHECK(s.stratum == 1);
  CHECK(s.refid == 0x50505300);
  CHECK(s.rootDispersion == 7);
  auto st = fake.stats.back()->getRoot<ipc::NetdStats>();
  CHECK(st.getReceived() == 10);
  CHECK(st.getAnswered() == 7);
  CHECK(st.getDropped() == 2);
  CHECK(st.getKernelRxStamps() == 10);
  CHECK(st.getStateAgeNs() >= 0);
  CHECK(st.getStateAgeNs() < 2 * ntp::NS_PER_S);
  CHECK(st.getServedLeap() == 0);
  CHECK(st.getServedStratum() == 1);
  CHECK(st.getServedRootDispersion() >= 7);

  // clockd goes away: the state stays; a new clockd comes back, still acquiring: netd attaches
  // again and keeps serving the previous state (with the new clock model), and says so.
  server = nullptr;
  fake.listener = nullptr;
  io.provider->getTimer().afterDelay(200 * kj::MILLISECONDS).wait(io.waitScope);
  CHECK(cell.load().stratum == 1);
  int64_t pushed = cell.load().pushedMonoNs;
  size_t before = fake.stats.size();
  fake.starting = true;
  server = startServer();
  REQUIRE(waitFor(io, [&]() { return fake.attaches == 2 && fake.stats.size() > before; },
                  5 * kj::SECONDS));
  s = cell.load();
  CHECK(s.pushed);
  CHECK(s.leap == 0);
  CHECK(s.stratum == 1);
  CHECK(s.pushedMonoNs == pushed);
  CHECK(s.model.offsetNs == 1234);
  st = fake.stats.back()->getRoot<ipc::NetdStats>();
  CHECK(st.getServedLeap() == 0);
  CHECK(st.getServedStratum() == 1);
  CHECK(st.getStateAgeNs() >= 200'000'000);   // aged from the previous clockd's push

  unlink(path.cStr());
  rmdir(dir);
}

TEST_CASE("netd pushes its top clients, busiest first, at most 16") {
  auto io = kj::setupAsyncIo();
  char dir[] = "/tmp/netd-feed-top.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  auto path = kj::str(dir, "/netd.sock");

  capnp::MallocMessageBuilder infoMessage;
  auto info = infoMessage.initRoot<ipc::DaemonInfo>();
  info.setPid(4243);
  StateCell cell;
  ResponderStats counters;
  auto top = kj::heap<TopClients>(SipKey{7, 8});
  int64_t now = monotonicNs();
  for (uint32_t c = 0; c < 20; ++c) {
    for (uint32_t i = 0; i <= c; ++i) top->record(Address{4, 0, 0xc0000200 + c}, now);
  }
  auto* e = top->record(Address{6, 0x20010db800010002ull, 5}, now);
  for (int i = 0; i < 40; ++i) {
    e = top->record(Address{6, 0x20010db800010002ull, 5}, now);
    TopClients::limited(*e, i == 0);
  }
  ClockdFeed feed(io.provider->getTimer(), cell, [&]() { return counters; }, info.asReader(),
                  7200 * ntp::NS_PER_S, 50 * kj::MILLISECONDS);
  feed.setTopClients(top.get());

  FakeClockd fake;
  auto listener = ipc::listenUnix(io, path, {getuid(), getgid(), 0600});
  auto server = ipc::serve(io.provider->getTimer(), *listener, ipc::NETD_SOCKET, nullptr,
                           [&]() -> capnp::Capability::Client { return kj::heap<FakeFeed>(fake); })
                    .eagerlyEvaluate(nullptr);
  auto client = ipc::keepConnected(
      io, ipc::Endpoint{kj::str(path), ipc::NETD_SOCKET, kj::heapArray<uid_t>({getuid()})},
      kj::str("clockd"),
      [&](capnp::Capability::Client bootstrap) { return feed.session(kj::mv(bootstrap)); })
      .eagerlyEvaluate([](kj::Exception&& e) { KJ_LOG(ERROR, e); });
  REQUIRE(waitFor(io, [&]() { return fake.stats.size() >= 1; }, 3 * kj::SECONDS));
  auto list = fake.stats.back()->getRoot<ipc::NetdStats>().getTopClients();
  REQUIRE(list.size() == 16);
  CHECK(list[0].getAddress() == "2001:db8:1:2::/64");
  CHECK(list[0].getRequests() == 41);
  CHECK(list[0].getRateLimited() == 40);
  CHECK(list[0].getKodSent() == 1);
  CHECK(list[0].getLastAgoNs() >= 0);
  CHECK(list[1].getAddress() == "192.0.2.19");
  CHECK(list[1].getRequests() == 20);
  CHECK(list[15].getAddress() == "192.0.2.5");
  for (size_t i = 1; i < list.size(); ++i) CHECK(list[i].getRequests() <= list[i - 1].getRequests());

  unlink(path.cStr());
  rmdir(dir);
}
