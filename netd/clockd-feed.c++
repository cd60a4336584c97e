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
  out.setReceived(s.received);
  out.setAnswered(s.answered);
  out.setDropped(s.droppedTotal() + s.sendErrors);
  out.setKernelRxStamps(s.kernelRxStamps);
  out.setUserRxStamps(s.userRxStamps);
  int64_t now = monotonicNs();
  out.setStateAgeNs(state.pushed ? now - state.pushedMonoNs : -1);   // -1: never
  Header served = makeHeader(state, now, maxHoldoverNs);
  out.setServedLeap(served.leap);
  out.setServedStratum(served.stratum);
  out.setServedRootDispersion(served.rootDispersion);
  out.setDroppedLength(s.dropped[static_cast<int>(Drop::LENGTH)]);
  out.setDroppedVersion(s.dropped[static_cast<int>(Drop::VERSION)]);
  out.setDroppedMode(s.dropped[static_cast<int>(Drop::MODE)]);
  out.setDroppedExtension(s.dropped[static_cast<int>(Drop::EXTENSION)]);
  out.setDroppedAuth(s.dropped[static_cast<int>(Drop::AUTH)]);
  out.setDroppedSource(s.dropped[static_cast<int>(Drop::SOURCE)]);
  out.setDroppedOwnAddress(s.dropped[static_cast<int>(Drop::OWN_ADDRESS)]);
  out.setDroppedDenied(s.dropped[static_cast<int>(Drop::DENIED)]);
  out.setRateLimited(s.rateLimited);
  out.setKodSent(s.kodSent);
  out.setSendErrors(s.sendErrors);
  out.setRequestsV1(s.requests[0]);
  out.setRequestsV2(s.requests[1]);
  out.setRequestsV3(s.requests[2]);
  out.setRequestsV4(s.requests[3]);
  out.setInterleaved(s.interleaved);
  out.setKernelTxStamps(s.kernelTxStamps);
  out.setNtsRequests(s.ntsRequests);
  out.setNtsNaks(s.ntsNaks);
  out.setNtsCookiesIssued(s.ntsCookiesIssued);
  out.setDroppedNts(s.dropped[static_cast<int>(Drop::NTS)]);
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
