// The hub's peers over real Cap'n Proto capabilities (in-process): which connection may change
// what, and what netd is told while clockd has no state of its own.
#include "hub.h"
#include "ntp-time.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/async-io.h>

using namespace horloge;
using namespace horloge::clockd;

namespace {

struct Pushes {
  int count = 0;
  bool starting = false;
  uint8_t leap = 0, stratum = 0;
};

// Plays netd's StateListener.
class Listener final: public ipc::StateListener::Server {
public:
  explicit Listener(Pushes& p): pushes(p) {}

protected:
  kj::Promise<void> update(UpdateContext context) override {
    auto st = context.getParams().getState();
    ++pushes.count;
    pushes.starting = st.getStarting();
    pushes.leap = st.getLeap();
    pushes.stratum = st.getStratum();
    return kj::READY_NOW;
  }

private:
  Pushes& pushes;
};

struct Fixture {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  Hub hub{io.provider->getTimer(), makeClock(ClockBackend::OBSERVE), HubOptions{}, realtimeNs()};

  // Lets released capabilities be destroyed and calls be delivered.
  void settle() { io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope); }

  void attach(ipc::NetdFeed::Client& feed, Pushes& pushes, uint32_t pid = 7) {
    auto req = feed.attachRequest();
    req.getInfo().setRole(ipc::Role::NETD);
    req.getInfo().setPid(pid);
    req.setListener(kj::heap<Listener>(pushes));
    req.send().wait(io.waitScope);
    settle();
  }
  void hello(ipc::RefclockFeed::Client& feed) {
    auto req = feed.helloRequest();
    req.getInfo().setRole(ipc::Role::REFCLOCKD);
    req.getInfo().setPid(8);
    req.send().wait(io.waitScope);
  }
  void sample(ipc::RefclockFeed::Client& feed, int64_t atNs) {
    auto req = feed.pushSampleRequest();
    auto s = req.initSample();
    s.setSystemTimeNs(atNs);
    s.setReferenceTimeNs(atNs);
    s.setErrorNs(100);
    req.send().wait(io.waitScope);
  }
  bool connected(bool netd) {
    capnp::MallocMessageBuilder m;
    auto st = m.initRoot<ipc::SystemStatus>();
    hub.fillStatus(st);
    return netd ? st.getNetd().getConnected() : st.getRefclockd().getConnected();
  }
};

}  // namespace

TEST_CASE("hub: a netd connection that never attached changes nothing when it closes") {
  Fixture f;
  Pushes real;
  auto netd = f.hub.newNetdFeed();
  f.attach(netd, real);
  CHECK(f.connected(true));
  int before = real.count;
  {
    auto stray = f.hub.newNetdFeed();   // connected, then closed without a word
  }
  f.settle();
  CHECK(f.connected(true));
  // The real netd still gets the state: a new attach pushes to every attached listener.
  Pushes other;
  {
    auto second = f.hub.newNetdFeed();
    f.attach(second, other, 9);
    CHECK(real.count > before);
    CHECK(other.count == 1);
    CHECK(f.connected(true));
  }
  // The second one (the current one) went away: the first is still attached.
  f.settle();
  CHECK(f.connected(true));
  before = real.count;
  auto third = f.hub.newNetdFeed();
  Pushes p3;
  f.attach(third, p3, 10);
  CHECK(real.count > before);
  // Only the connection that attached can detach: both gone, netd is down.
  netd = nullptr;
  f.settle();
  CHECK(f.connected(true));
  third = nullptr;
  f.settle();
  CHECK_FALSE(f.connected(true));
}

TEST_CASE("hub: a refclockd connection that never said hello changes nothing, and may not push") {
  Fixture f;
  auto real = f.hub.newRefclockFeed();
  f.hello(real);
  CHECK(f.connected(false));
  {
    auto stray = f.hub.newRefclockFeed();
    // Another connection's hello does not let this one push.
    CHECK_THROWS_AS(f.sample(stray, realtimeNs()), kj::Exception);
  }
  f.settle();
  CHECK(f.connected(false));
  f.sample(real, realtimeNs());
  real = nullptr;
  f.settle();
  CHECK_FALSE(f.connected(false));
}

TEST_CASE("hub: netd is told 'starting' until clockd has been synchronised, never after") {
  Fixture f;
  Pushes pushes;
  auto netd = f.hub.newNetdFeed();
  f.attach(netd, pushes);
  CHECK(pushes.count == 1);
  CHECK(pushes.starting);
  CHECK(pushes.leap == 3);

  // Six samples a second apart: locked.
  auto refclock = f.hub.newRefclockFeed();
  f.hello(refclock);
  int64_t t = realtimeNs() - 6 * ntp::NS_PER_S;
  for (int i = 0; i < 6; ++i) f.sample(refclock, t + i * ntp::NS_PER_S);
  Pushes after;
  auto again = f.hub.newNetdFeed();
  f.attach(again, after, 11);
  CHECK_FALSE(after.starting);
  CHECK(after.leap == 0);
  CHECK(after.stratum == 1);
}

TEST_CASE("hub: an expired leap table is an alarm naming its file and date") {
  auto io = kj::setupAsyncIo();
  HubOptions o;
  LeapTable t;
  t.entries = {{63072000, 10}, {1483228800, 37}};
  t.expiresUnix = 1782604800;   // 2026-06-28
  o.leap = t;
  o.leapPath = kj::str("/usr/share/zoneinfo/leap-seconds.list");
  Hub hub(io.provider->getTimer(), makeClock(ClockBackend::OBSERVE), kj::mv(o), realtimeNs());
  auto ticking = hub.run();   // the first tick reads the table's status
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::SystemStatus>();
  hub.fillStatus(st);
  if (realtimeNs() / ntp::NS_PER_S >= 1782604800) {
    CHECK(st.getClock().getLeapAlarm() ==
          "leap file expired on 2026-06-28 (/usr/share/zoneinfo/leap-seconds.list): a leap "
          "second after that date cannot be announced");
  }
  CHECK(st.getClock().getLeapExpiresNs() == 1782604800LL * ntp::NS_PER_S);
}
