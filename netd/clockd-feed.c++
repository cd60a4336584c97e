#include "clockd-feed.h"
#include "ntp-time.h"
#include "state-listener.h"

namespace horloge::netd {

ClockdFeed::ClockdFeed(kj::Timer& timer, StateCell& cell, kj::Function<ResponderStats()> stats,
                       ipc::DaemonInfo::Reader info, int64_t maxHoldoverNs, kj::Duration interval)
    : timer(timer), cell(cell), stats(kj::mv(stats)), info(info), maxHoldoverNs(maxHoldoverNs),
      interval(interval) {}

kj::Promise<void> ClockdFeed::session(capnp::Capability::Client bootstrap) {
  auto feed = bootstrap.castAs<ipc::NetdFeed>();
  auto request = feed.attachRequest();
  request.setInfo(info);
  request.setListener(kj::heap<StateListenerImpl>(cell, maxHoldoverNs, ntsKeys));
  return request.send().then([this, feed](auto&&) mutable { return pushStats(kj::mv(feed)); });
}

kj::Promise<void> ClockdFeed::pushStats(ipc::NetdFeed::Client feed) {
  ResponderStats s = stats();
  Snapshot state = cell.load();
  auto request = feed.pushStatsRequest();
  auto out = request.initStats();
  for (auto& row: NETD_STAT_ROWS) {
    if (row.counted) row.set(out, s[row.counter]);
  }
  out.setDropped(s.droppedTotal() + s[NetdCounter::SEND_ERRORS]);
  int64_t now = monotonicNs();
  out.setStateAgeNs(state.pushed ? now - state.pushedMonoNs : -1);   // -1: never
  ServerHeader served = makeHeader(state, now, maxHoldoverNs);
  out.setServedLeap(served.leap);
  out.setServedStratum(served.stratum);
  out.setServedRootDispersion(served.rootDispersion);
  if (top != nullptr) {
    TopClients::Client busiest[TopClients::REPORTED];
    size_t n = top->top(busiest, TopClients::REPORTED);
    auto list = out.initTopClients(n);
    for (size_t i = 0; i < n; ++i) {
      auto c = list[i];
      c.setAddress(TopClients::format(busiest[i].address));
      c.setRequests(busiest[i].requests);
      c.setRateLimited(busiest[i].rateLimited);
      // Read apart from rateLimited while workers count: never more (clockd checks).
      c.setKodSent(kj::min(busiest[i].kodSent, busiest[i].rateLimited));
      c.setLastAgoNs(kj::max(int64_t(0), now - busiest[i].lastSeenNs));
    }
  }
  return request.send().then([this, feed](auto&&) mutable {
    return timer.afterDelay(interval).then(
        [this, feed = kj::mv(feed)]() mutable { return pushStats(kj::mv(feed)); });
  });
}

}  // namespace horloge::netd
