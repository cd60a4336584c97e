#include "hub.h"
#include "ipc.h"
#include "ntp-time.h"
#include "validate.h"
#include <kj/debug.h>

namespace horloge::clockd {

namespace {

template <typename T>
kj::Own<capnp::MallocMessageBuilder> copyOf(typename T::Reader r) {
  auto m = kj::heap<capnp::MallocMessageBuilder>();
  m->setRoot(r);
  return m;
}

// Copies a peer record into its Peer(Body) slot of a SystemStatus.
template <typename PeerBuilder, typename GetBody>
void copyPeer(Hub::Peer& p, PeerBuilder out, GetBody&& body) {
  out.setConnected(p.connected);
  out.setLastSeenNs(p.lastSeenNs);
  if (p.info.get() != nullptr) out.setInfo(p.info->getRoot<ipc::DaemonInfo>().asReader());
  if (p.body.get() != nullptr) out.setBody(body(p.body->getRoot<ipc::SystemStatus>().asReader()));
}

}  // namespace

class RefclockFeedImpl final: public ipc::RefclockFeed::Server {
public:
  RefclockFeedImpl(Hub& hub): hub(hub), generation(++hub.refclockd.generation) {}
  ~RefclockFeedImpl() noexcept(false) {
    if (hub.refclockd.generation == generation) {
      hub.refclockd.connected = false;
      log::warn("refclockd disconnected");
    }
  }

  kj::Promise<void> hello(HelloContext context) override {
    return hub.checked("refclockd", [&]() {
      auto info = context.getParams().getInfo();
      validateDaemonInfo(info, ipc::Role::REFCLOCKD);
      hub.refclockd.info = copyOf<ipc::DaemonInfo>(info);
      hub.refclockd.connected = true;
      touch();
      log::info(kj::str("refclockd attached (pid ", info.getPid(), ")"));
    });
  }
  kj::Promise<void> pushSample(PushSampleContext context) override {
    return hub.checked("refclockd", [&]() {
      KJ_REQUIRE(hub.refclockd.info.get() != nullptr, "hello first");
      auto s = context.getParams().getSample();
      validateSample(s);
      touch();
      hub.onSample(s);
    });
  }
  kj::Promise<void> pushStatus(PushStatusContext context) override {
    return hub.checked("refclockd", [&]() {
      KJ_REQUIRE(hub.refclockd.info.get() != nullptr, "hello first");
      auto list = context.getParams().getStatus();
      validateRefclockStatus(list);
      auto m = kj::heap<capnp::MallocMessageBuilder>();
      m->initRoot<ipc::SystemStatus>().getRefclockd().setBody(list);
      hub.refclockd.body = kj::mv(m);
      touch();
    });
  }

private:
  Hub& hub;
  uint64_t generation;
  void touch() { if (hub.refclockd.generation == generation) hub.refclockd.lastSeenNs = realtimeNs(); }
};

class NetdFeedImpl final: public ipc::NetdFeed::Server {
public:
  NetdFeedImpl(Hub& hub): hub(hub), generation(++hub.netd.generation) {}
  ~NetdFeedImpl() noexcept(false) {
    if (hub.netd.generation == generation) {
      hub.netd.connected = false;
      hub.netdListener = nullptr;
      log::warn("netd disconnected");
    }
  }

  kj::Promise<void> attach(AttachContext context) override {
    return hub.checked("netd", [&]() {
      auto params = context.getParams();
      validateDaemonInfo(params.getInfo(), ipc::Role::NETD);
      hub.netd.info = copyOf<ipc::DaemonInfo>(params.getInfo());
      hub.netd.connected = true;
      hub.netd.lastSeenNs = realtimeNs();
      hub.netdListener = params.getListener();
      log::info(kj::str("netd attached (pid ", params.getInfo().getPid(), ")"));
      hub.pushState();
    });
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    return hub.checked("netd", [&]() {
      KJ_REQUIRE(hub.netd.info.get() != nullptr, "attach first");
      auto stats = context.getParams().getStats();
      validateNetdStats(stats);
      auto m = kj::heap<capnp::MallocMessageBuilder>();
      m->initRoot<ipc::SystemStatus>().getNetd().setBody(stats);
      hub.netd.body = kj::mv(m);
      hub.netd.lastSeenNs = realtimeNs();
    });
  }

private:
  Hub& hub;
  uint64_t generation;
};

class StatusReaderImpl final: public ipc::StatusReader::Server {
public:
  StatusReaderImpl(Hub& hub): hub(hub) {}
  kj::Promise<void> getStatus(GetStatusContext context) override {
    hub.fillStatus(context.getResults().initStatus());
    return kj::READY_NOW;
  }
private:
  Hub& hub;
};

Hub::Hub(kj::Timer& timer, kj::Own<Clock> clock, SyncParams params, int64_t startedNs)
    : timer(timer), clock(kj::mv(clock)), sync(params), startedNs(startedNs), tasks(*this) {}

ipc::RefclockFeed::Client Hub::newRefclockFeed() { return kj::heap<RefclockFeedImpl>(*this); }
ipc::NetdFeed::Client Hub::newNetdFeed() { return kj::heap<NetdFeedImpl>(*this); }
ipc::StatusReader::Client Hub::newStatusReader() { return kj::heap<StatusReaderImpl>(*this); }

void Hub::reject(const kj::Exception& e, kj::StringPtr from) {
  ++rejected;
  rejectLog.warn(kj::str("refused a message from ", from, ": ", e.getDescription()));
}

void Hub::onSample(ipc::RefSample::Reader s) {
  Sample sample{s.getSystemTimeNs(), (s.getSystemTimeNs() - s.getReferenceTimeNs()) * 1e-9,
                s.getErrorNs() * 1e-9};
  auto& f = filters[s.getSourceId()];
  f.add(sample);
  selected = s.getSourceId();   // one refclock today; selection comes with more sources
  SourceStats st = f.stats();
  sync.onSample(st, sample.localNs);
  clock->discipline(st);
}

void Hub::pushState() {
  KJ_IF_MAYBE(listener, netdListener) {
    Header h = sync.header(realtimeNs());
    auto req = listener->updateRequest();
    auto st = req.initState();
    st.setLeap(h.leap);
    st.setStratum(h.stratum);
    st.setPrecision(h.precision);
    st.setRefid(h.refid);
    st.setReferenceTime(h.referenceTime);
    st.setRootDelay(h.rootDelay);
    st.setRootDispersion(h.rootDispersion);
    tasks.add(req.send().ignoreResult());
  }
}

kj::Promise<void> Hub::run() {
  if (sync.tick(realtimeNs())) {
    log::info(kj::str("state ", syncName(sync.state()), ": ", sync.reason().c_str()));
  }
  pushState();
  return timer.afterDelay(1 * kj::SECONDS).then([this]() { return run(); });
}

void Hub::taskFailed(kj::Exception&& e) {
  // A push to a netd that just went away; its feed's destructor clears the listener.
  log::warn(kj::str("push to netd failed: ", e.getDescription()));
}

void Hub::fillStatus(ipc::SystemStatus::Builder out) {
  int64_t now = realtimeNs();
  out.setGeneratedNs(now);
  ipc::fillDaemonInfo(out.initClockd(), Role::CLOCKD, startedNs);

  auto c = out.initClock();
  c.setBackend(clock->name());
  c.setState(static_cast<ipc::SyncState>(sync.state()));
  c.setReason(sync.reason().c_str());
  Header h = sync.header(now);
  auto s = c.initServer();
  s.setLeap(h.leap);
  s.setStratum(h.stratum);
  s.setPrecision(h.precision);
  s.setRefid(h.refid);
  s.setReferenceTime(h.referenceTime);
  s.setRootDelay(h.rootDelay);
  s.setRootDispersion(h.rootDispersion);
  char refid[5] = {char(h.refid >> 24), char(h.refid >> 16), char(h.refid >> 8), char(h.refid), 0};
  c.setRefid(refid);
  if (selected >= 0) {
    SourceStats st = filters[selected].stats();
    c.setOffset(st.offset);
    c.setJitter(st.jitter);
    c.setFrequency(st.frequency);
    c.setSamples(filters[selected].total());
    c.setLastSampleNs(st.lastLocalNs);
  }
  c.setRejectedMessages(rejected);

  copyPeer(refclockd, out.initRefclockd(), [](auto st) { return st.getRefclockd().getBody(); });
  copyPeer(netd, out.initNetd(), [](auto st) { return st.getNetd().getBody(); });
}

}  // namespace horloge::clockd
