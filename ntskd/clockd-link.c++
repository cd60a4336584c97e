#include "clockd-link.h"
#include "log.h"
#include "ntp-time.h"

namespace horloge::ntskd {

namespace {

class KeyListenerImpl final: public ipc::KeyListener::Server {
public:
  explicit KeyListenerImpl(KeServer& server): server(server) {}

protected:
  kj::Promise<void> update(UpdateContext context) override {
    // Checked before use: a bad push fails back to clockd and leaves the keys we have.
    nts::KeySet keys = nts::keySetFromWire(context.getParams().getKeys());
    size_t n = keys.keys.size();
    uint32_t current = keys.keys[keys.current].id;
    bool changed = true;
    KJ_IF_MAYBE(old, server.keys()) changed = old->keys[old->current].id != current;
    server.setKeys(kj::mv(keys));
    if (changed) log::info(kj::str("NTS keys from clockd: ", n, " accepted, a new current one"));
    return kj::READY_NOW;
  }

private:
  KeServer& server;
};

}  // namespace

void fillStats(const KeStats& s, const kj::Maybe<nts::KeySet>& keys, int64_t nowNs,
               ipc::NtskeStats::Builder out) {
  out.setSessions(s.sessions);
  out.setCompleted(s.completed);
  out.setCookiesIssued(s.cookiesIssued);
  out.setOpenConnections(s.open);
  out.setRefusedBusy(s.refusedBusy);
  out.setRefusedRate(s.refusedRate);
  out.setFailedHandshake(s.failedHandshake);
  out.setFailedAlpn(s.failedAlpn);
  out.setFailedTimeout(s.failedTimeout);
  out.setFailedTruncated(s.failedTruncated);
  out.setFailedOversized(s.failedOversized);
  out.setFailedUnknownCritical(s.failedUnknownCritical);
  out.setFailedBadRequest(s.failedBadRequest);
  out.setFailedIo(s.failedIo);
  int64_t age = -1;
  KJ_IF_MAYBE(k, keys) age = kj::max(int64_t(0), nowNs - k->keys[k->current].createdNs);
  out.setKeyAgeNs(age);
}

ClockdLink::ClockdLink(kj::Timer& timer, KeServer& server, ipc::DaemonInfo::Reader info)
    : timer(timer), server(server), info(info) {}

kj::Promise<void> ClockdLink::session(capnp::Capability::Client bootstrap) {
  auto feed = bootstrap.castAs<ipc::NtskeFeed>();
  auto request = feed.attachRequest();
  request.setInfo(info);
  request.setListener(kj::heap<KeyListenerImpl>(server));
  return request.send().then([this, feed](auto&&) mutable { return pushStats(kj::mv(feed)); });
}

kj::Promise<void> ClockdLink::pushStats(ipc::NtskeFeed::Client feed) {
  auto request = feed.pushStatsRequest();
  fillStats(server.stats(), server.keys(), realtimeNs(), request.initStats());
  return request.send().then([this, feed](auto&&) mutable {
    return timer.afterDelay(1 * kj::SECONDS).then(
        [this, feed = kj::mv(feed)]() mutable { return pushStats(kj::mv(feed)); });
  });
}

}  // namespace horloge::ntskd
