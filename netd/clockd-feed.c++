#include "clockd-feed.h"
#include "ntp-time.h"
#include "state-listener.h"

namespace horloge::netd {

ClockdFeed::ClockdFeed(kj::Timer& timer, StateCell& cell, kj::Function<ResponderStats()> stats,
                       ipc::DaemonInfo::Reader info, kj::Duration interval)
    : timer(timer), cell(cell), stats(kj::mv(stats)), info(info), interval(interval) {}

kj::Promise<void> ClockdFeed::session(capnp::Capability::Client bootstrap) {
  auto feed = bootstrap.castAs<ipc::NetdFeed>();
  auto request = feed.attachRequest();
  request.setInfo(info);
  request.setListener(kj::heap<StateListenerImpl>(cell));
  return request.send().then([this, feed](auto&&) mutable { return pushStats(kj::mv(feed)); });
}

kj::Promise<void> ClockdFeed::pushStats(ipc::NetdFeed::Client feed) {
  ResponderStats s = stats();
  Snapshot state = cell.load();
  auto request = feed.pushStatsRequest();
  auto out = request.initStats();
  out.setReceived(s.received);
  out.setAnswered(s.answered);
  out.setDropped(s.droppedTotal() + s.sendErrors);
  out.setKernelRxStamps(s.kernelRxStamps);
  out.setUserRxStamps(s.userRxStamps);
  out.setStateAgeNs(state.pushed ? monotonicNs() - state.pushedMonoNs : -1);   // -1: never
  return request.send().then([this, feed](auto&&) mutable {
    return timer.afterDelay(interval).then(
        [this, feed = kj::mv(feed)]() mutable { return pushStats(kj::mv(feed)); });
  });
}

}  // namespace horloge::netd
