// horloge-refclockd: turns GPS receivers into time samples for clockd. It opens its devices,
// drops every privilege, and then can only read them and push to clockd.
#include "daemon.h"
#include "device-problem.h"
#include "driver.h"
#include "error-text.h"
#include "host-info.h"
#include "ipc.h"
#include "log.h"
#include "ntp-time.h"
#include "sandbox.h"
#include "state-file.h"
#include "systemd.h"
#include <unistd.h>
#include <capnp/message.h>
#include <kj/debug.h>
#include <vector>

using namespace horloge;

namespace {

class Refclocks: private kj::TaskSet::ErrorHandler {
public:
  static constexpr int MAX_IN_FLIGHT = 16;   // clockd stalled: drop, do not queue

  Refclocks(kj::Timer& timer, kj::Vector<kj::Own<refclock::Driver>> drivers,
            refclock::ClockHint& hint)
      : timer(timer), drivers(kj::mv(drivers)), hint(hint), tasks(*this) {}

  kj::Promise<void> run() {
    if (drivers.size() == 0) {
      log::warn("no refclock configured");
      return kj::NEVER_DONE;
    }
    auto all = kj::heapArrayBuilder<kj::Promise<void>>(drivers.size());
    for (auto& d: drivers) all.add(d->run(sink));
    return kj::joinPromises(all.finish());
  }

  // One connection to clockd: say who we are, then report status every second.
  kj::Promise<void> session(capnp::Capability::Client bootstrap, ipc::DaemonInfo::Reader info) {
    auto feed = bootstrap.castAs<ipc::RefclockFeed>();
    auto req = feed.helloRequest();
    req.setInfo(info);
    return req.send().then([this, feed](auto&&) mutable {
      current = feed;
      return reportLoop(feed);
    }).attach(kj::defer([this]() {
      current = nullptr;
      hint.synced = false;   // clockd gone: nothing vouches for the system clock
    }));
  }

private:
  kj::Timer& timer;
  kj::Vector<kj::Own<refclock::Driver>> drivers;
  refclock::ClockHint& hint;
  kj::Maybe<ipc::RefclockFeed::Client> current;
  kj::TaskSet tasks;
  int inFlight = 0;
  uint64_t lost = 0;
  refclock::SampleSink sink = [this](uint8_t id, const refclock::Paired& p, int64_t errorNs) {
    push(id, p, errorNs);
  };

  void push(uint8_t id, const refclock::Paired& p, int64_t errorNs) {
    KJ_IF_MAYBE(feed, current) {
      if (inFlight < MAX_IN_FLIGHT) {
        auto req = feed->pushSampleRequest();
        auto s = req.initSample();
        s.setSourceId(id);
        s.setSystemTimeNs(p.systemTimeNs);
        s.setReferenceTimeNs(p.referenceTimeNs);
        s.setErrorNs(static_cast<uint32_t>(errorNs));
        s.setKind(p.nmeaOnly ? ipc::SampleKind::NMEA : ipc::SampleKind::PPS);
        ++inFlight;
        tasks.add(req.send().ignoreResult().attach(kj::defer([this]() { --inFlight; })));
        return;
      }
    }
    ++lost;   // clockd away or stalled; the discipline copes with gaps
  }

  kj::Promise<void> reportLoop(ipc::RefclockFeed::Client feed) {
    auto req = feed.pushStatusRequest();
    auto list = req.initStatus(drivers.size());
    for (size_t i = 0; i < drivers.size(); ++i) {
      drivers[i]->status(list[i]);
      // clockd refuses longer texts (and the whole report with them): a long device path
      // must cost the end of a sentence, not the connection.
      list[i].setName(refclock::clamp(list[i].getName(), ipc::MAX_TEXT));
      list[i].setFault(refclock::clamp(list[i].getFault(), ipc::MAX_TEXT));
      list[i].setAnomaly(refclock::clamp(list[i].getAnomaly(), ipc::MAX_TEXT));
    }
    return req.send().then([this](auto&& reply) {
      // clockd's view of its clock, for PPS edges without NMEA (see refclock::ClockHint).
      auto h = reply.getHint();
      hint.synced = h.getSynced();
      hint.offsetNs = h.getOffsetNs();
      hint.steps = h.getSteps();
      hint.receivedNs = realtimeNs();
      return timer.afterDelay(1 * kj::SECONDS);
    })
        .then([this, feed]() mutable { return reportLoop(feed); });
  }

  void taskFailed(kj::Exception&& e) override {
    log::warn(kj::str("clockd refused a sample: ", errorText(e)));
  }
};

}  // namespace

int main(int argc, char** argv) {
  Config config = startDaemon(Role::REFCLOCKD, argc, argv);
  int64_t started = realtimeNs();
  return runDaemon([&]() {
    auto io = kj::setupAsyncIo();

    // 1. Open every device, gpsd input and our state file while we still may.
    refclock::ClockHint hint;
    kj::Maybe<kj::Own<refclock::StateFile>> state;
    if (!config.refclocks.empty()) state = refclock::openStateFile(config.statedir);
    refclock::LastGoodStore* store = nullptr;
    KJ_IF_MAYBE(s, state) store = s->get();
    refclock::DriverContext context{io, hint, refclock::buildTimeNs(), store};
    for (auto& fd: systemd::takeListenFds()) {
      if (fd.name == "refclock-sock") context.handedSockets.add(fd.fd);
      else close(fd.fd);
    }
    kj::Vector<kj::Own<refclock::Driver>> drivers;
    for (size_t i = 0; i < config.refclocks.size(); ++i)
      drivers.add(refclock::openDriver(config.refclocks[i], static_cast<uint8_t>(i), context));
    for (int fd: context.handedSockets) {
      if (fd >= 0) close(fd);   // no `refclock sock` line names it
    }

    // Who may serve refclock.sock is looked up now: no user database after lockdown.
    auto clockd = ipc::clockdEndpoint(config, ipc::REFCLOCK_SOCKET);

    auto user = lockdownUserName(config, Role::REFCLOCKD);
    // 2. Then nothing: no capability, no network, our own syscall list.
    lockdown(Role::REFCLOCKD, {config.user(Role::REFCLOCKD), false, config.seccomp});

    capnp::MallocMessageBuilder infoMessage;
    auto info = infoMessage.initRoot<ipc::DaemonInfo>();
    ipc::fillDaemonInfo(info, Role::REFCLOCKD, started);
    info.setUser(user);

    Refclocks refclocks(io.provider->getTimer(), kj::mv(drivers), hint);
    auto connected = ipc::keepConnected(
        io, kj::mv(clockd), kj::str("clockd"),
        [&](capnp::Capability::Client bootstrap) {
          return refclocks.session(kj::mv(bootstrap), info.asReader());
        });
    systemd::notifyReady("reading reference clocks");
    refclocks.run().exclusiveJoin(kj::mv(connected))
        .exclusiveJoin(systemd::watchdogLoop(io.provider->getTimer())).wait(io.waitScope);
    log::error("reference clock driver stopped");
    return 1;
  });
}
