// The hub's peers over real Cap'n Proto capabilities (in-process): which connection may change
// what, and what netd is told while clockd has no state of its own.
#include "hub.h"
#include "ntp-time.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <cmath>

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
  Hub hub;
  explicit Fixture(kj::Own<Clock> clock = makeClock(ClockBackend::OBSERVE), HubOptions options = {})
      : hub(io.provider->getTimer(), kj::mv(clock), kj::mv(options), realtimeNs()) {}

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

TEST_CASE("hub: the temperature, its source and the relation restored at start, in the status") {
  auto io = kj::setupAsyncIo();
  HubOptions o;
  o.temperatureSource = kj::str("sim clock");
  TemperatureMemory m;
  {
    // Clean data: 0.25 ppm/°C, no lag.
    TemperatureModel model;
    double phi = 0;
    for (double t = 0; t < 7200; t += 10) {
      double c = 45 + 5 * std::sin(2 * M_PI * t / 3600);
      model.reading(t, c);
      model.phase(t, phi);
      phi += 0.25e-6 * (c - 45) * 10;
    }
    m = model.memory();
  }
  o.temperatureMemory = m;
  SimClockParams p;
  p.thermal.enabled = true;
  p.thermal.base = 38;
  Hub hub(io.provider->getTimer(), makeClock(ClockBackend::SIM, p), kj::mv(o), realtimeNs());
  auto ticking = hub.run();   // the first tick reads the temperature
  capnp::MallocMessageBuilder msg;
  auto st = msg.initRoot<ipc::SystemStatus>();
  hub.fillStatus(st);
  auto t = st.getClock().getTemperature();
  CHECK(t.getSensor() == "sim clock");
  CHECK(t.getProblem() == "");
  CHECK(t.getCelsius() == doctest::Approx(38).epsilon(0.02));   // noise 0.1 °C
  CHECK(t.getReadNs() > 0);
  CHECK(t.getActive());
  CHECK(t.getReference() == 45);
  CHECK(t.getLinear() == doctest::Approx(0.25).epsilon(0.01));  // ppm/°C
  CHECK(t.getLinearSigma() < 0.01);
  CHECK(t.getQuadratic() == doctest::Approx(0).scale(1).epsilon(1e-3));
}

TEST_CASE("hub: a missing sensor is a state in the status, not a crash") {
  auto io = kj::setupAsyncIo();
  HubOptions o;
  o.temperatureSensor = kj::heap<TemperatureSensor>("/nonexistent/thermal_zone0/temp");
  o.temperatureSource = kj::str("/nonexistent/thermal_zone0/temp");
  Hub hub(io.provider->getTimer(), makeClock(ClockBackend::OBSERVE), kj::mv(o), realtimeNs());
  auto ticking = hub.run();
  capnp::MallocMessageBuilder msg;
  auto st = msg.initRoot<ipc::SystemStatus>();
  hub.fillStatus(st);
  auto t = st.getClock().getTemperature();
  CHECK(t.getSensor() == "/nonexistent/thermal_zone0/temp");
  CHECK(t.getProblem() ==
        "cannot open /nonexistent/thermal_zone0/temp: No such file or directory");
  CHECK(std::isnan(t.getCelsius()));
  CHECK(t.getReadNs() == 0);
  CHECK_FALSE(t.getActive());
}

namespace {

// The midnight that ends the current UTC month: a leap there is always within its last month.
int64_t endOfMonth() {
  time_t t = realtimeNs() / ntp::NS_PER_S;
  struct tm u;
  gmtime_r(&t, &u);
  u.tm_mday = 1;
  u.tm_hour = u.tm_min = u.tm_sec = 0;
  u.tm_mon += 1;
  return timegm(&u);
}

void pushReceiverLeap(ipc::RefclockFeed::Client& feed, kj::WaitScope& ws, int change, int64_t atUnix) {
  auto req = feed.pushStatusRequest();
  auto st = req.initStatus(1)[0];
  st.setName("nmea:/dev/ttyACM0");
  auto l = st.initLeap();
  l.setReceivedNs(realtimeNs());
  l.setCurrentValid(true);
  l.setTaiMinusUtc(37);
  l.setChangeValid(true);
  l.setChange(static_cast<int8_t>(change));
  l.setAtNs(atUnix * ntp::NS_PER_S);
  req.send().wait(ws);
}

}  // namespace

TEST_CASE("hub: a receiver's leap announcement against a valid leap file that has none") {
  auto io = kj::setupAsyncIo();
  HubOptions o;
  LeapTable t;
  t.entries = {{63072000, 10}, {1483228800, 37}};
  t.expiresUnix = 1893456000;   // 2030: valid, and silent about the end of this month
  o.leap = t;
  o.leapPath = kj::str("/etc/leap.list");
  Hub hub(io.provider->getTimer(), makeClock(ClockBackend::OBSERVE), kj::mv(o), realtimeNs());
  auto ticking = hub.run().eagerlyEvaluate(nullptr);
  auto status = [&](auto&& check) {
    capnp::MallocMessageBuilder m;
    auto st = m.initRoot<ipc::SystemStatus>();
    hub.fillStatus(st);
    check(st.asReader().getClock());
  };
  status([](ipc::ClockStatus::Reader c) {
    CHECK(c.getLeapSource() == "file");
    CHECK(c.getLeapValidUntilNs() == 1893456000LL * ntp::NS_PER_S);
    CHECK(c.getLeapAlarm() == "");
  });

  auto feed = hub.newRefclockFeed();
  {
    auto req = feed.helloRequest();
    req.getInfo().setRole(ipc::Role::REFCLOCKD);
    req.getInfo().setPid(8);
    req.send().wait(io.waitScope);
  }
  int64_t t0 = realtimeNs() - 6 * ntp::NS_PER_S;
  for (int i = 0; i < 6; ++i) {
    auto req = feed.pushSampleRequest();
    auto s = req.initSample();
    s.setSystemTimeNs(t0 + i * ntp::NS_PER_S);
    s.setReferenceTimeNs(t0 + i * ntp::NS_PER_S);
    s.setErrorNs(100);
    req.send().wait(io.waitScope);
  }
  // A report clockd must refuse: no change of 2 s exists.
  CHECK_THROWS_AS(pushReceiverLeap(feed, io.waitScope, 2, endOfMonth()), kj::Exception);
  pushReceiverLeap(feed, io.waitScope, 1, endOfMonth());
  io.provider->getTimer().afterDelay(1100 * kj::MILLISECONDS).wait(io.waitScope);   // a tick

  Pushes pushes;
  auto netd = hub.newNetdFeed();
  {
    auto req = netd.attachRequest();
    req.getInfo().setRole(ipc::Role::NETD);
    req.getInfo().setPid(7);
    req.setListener(kj::heap<Listener>(pushes));
    req.send().wait(io.waitScope);
  }
  io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
  CHECK(pushes.leap == 1);   // LI: insert, from the receiver
  status([](ipc::ClockStatus::Reader c) {
    CHECK(c.getRejectedMessages() == 1);
    CHECK(c.getLeapSource() == "receiver");
    CHECK(c.getLeapPendingNs() == endOfMonth() * ntp::NS_PER_S);
    std::string alarm = c.getLeapAlarm().cStr();
    CHECK(alarm.find("leap file (/etc/leap.list) and receiver disagree: the receiver announces an "
                     "inserted leap second before ") == 0);
  });

  // The receiver now agrees there is no leap: both sources, no alarm, no announcement.
  pushReceiverLeap(feed, io.waitScope, 0, 0);
  io.provider->getTimer().afterDelay(1100 * kj::MILLISECONDS).wait(io.waitScope);
  status([](ipc::ClockStatus::Reader c) {
    CHECK(c.getLeapSource() == "both");
    CHECK(c.getLeapAlarm() == "");
    CHECK(c.getLeapPendingNs() == 0);
  });
}

TEST_CASE("hub: a sample taken before a step but handled after it is dropped") {
  // A board 1 s off with `makestep 0.1 3`: the first sample steps. One taken just before
  // it, still queued (a loaded machine), carries the old timescale's 1 s: taken as new, it
  // would make a second step back (or, past the step window, wreck the frequency estimate).
  SimClockParams sim;             // 20 ppm off, wandering, 1 us of jitter: the sim's defaults
  sim.offset = 1.0;
  HubOptions options;
  options.discipline.stepThreshold = 0.1;
  options.discipline.stepLimit = 3;
  Fixture f(makeClock(ClockBackend::SIM, sim), kj::mv(options));
  auto refclock = f.hub.newRefclockFeed();
  f.hello(refclock);
  auto push = [&](int64_t atNs) { f.sample(refclock, atNs); };
  auto status = [&](auto check) {
    capnp::MallocMessageBuilder m;
    auto st = m.initRoot<ipc::SystemStatus>();
    f.hub.fillStatus(st);
    check(st.getClock().asReader());
  };

  int64_t t = realtimeNs() - 200'000'000;
  push(t);
  status([](auto c) { CHECK(c.getSteps() == 1); });
  push(t + 100'000'000);   // before the step
  status([](auto c) {
    CHECK(c.getSteps() == 1);
    CHECK(std::fabs(c.getOffset()) < 1e-3);
  });
  push(realtimeNs());      // after it: taken (the sim clock's stamps are never stepped)
  status([](auto c) {
    CHECK(c.getSteps() == 1);
    CHECK(std::fabs(c.getOffset()) < 1e-3);
    CHECK(c.getSamples() >= 2);
  });
}
