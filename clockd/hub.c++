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
      // Tells refclockd whether our clock may number PPS edges that lack NMEA (within 0.4 s).
      auto hint = context.getResults().initHint();
      hint.setSynced(hub.sync.state() != Sync::UNSYNCHRONISED && hub.selected >= 0);
      if (hub.selected >= 0) hint.setOffsetNs(hub.filters[hub.selected].stats().offset * 1e9);
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
    : Hub(timer, kj::mv(clock), HubOptions{params}, startedNs) {}

Hub::Hub(kj::Timer& timer, kj::Own<Clock> clockArg, HubOptions o, int64_t startedNs)
    : timer(timer), clock(kj::mv(clockArg)), sync(o.sync), startedNs(startedNs),
      options(kj::mv(o)), discipline(options.discipline), tasks(*this) {
  // `observe` measures without steering: the discipline must not count on its corrections.
  if (!clock->steers()) {
    DisciplineParams p = options.discipline;
    p.maxCorrection = 0;
    p.stepThreshold = 0;
    discipline = Discipline(p);
  }
  KJ_IF_MAYBE(unused, kj::runCatchingExceptions([&]() {
    discipline.setAppliedCorrection(clock->initialCorrection());
  })) {
    log::warn(kj::str("cannot read the clock's frequency: ", unused->getDescription()));
  }
  if (options.drift) discipline.setInitialFrequency(options.drift->frequency, options.drift->sigma);
  discipline.setUpdatesDone(options.updatesDone);
  if (!options.leapAlarm.empty()) log::warn(kj::str("leap seconds: ", options.leapAlarm.c_str()));
}

ipc::RefclockFeed::Client Hub::newRefclockFeed() { return kj::heap<RefclockFeedImpl>(*this); }
ipc::NetdFeed::Client Hub::newNetdFeed() { return kj::heap<NetdFeedImpl>(*this); }
ipc::StatusReader::Client Hub::newStatusReader() { return kj::heap<StatusReaderImpl>(*this); }

void Hub::reject(const kj::Exception& e, kj::StringPtr from) {
  ++rejected;
  rejectLog.warn(kj::str("refused a message from ", from, ": ", e.getDescription()));
}

void Hub::onSample(ipc::RefSample::Reader s) {
  int64_t local = s.getSystemTimeNs();
  // The sim backend's virtual clock adds its own error to what was measured.
  double offset = (local - s.getReferenceTimeNs()) * 1e-9 + clock->sampleBias(local);
  double error = s.getErrorNs() * 1e-9;
  uint8_t id = s.getSourceId();
  filters[id].add({local, offset, error});
  claimedError[id] = error;

  // Selection over every source heard from (refclocks today; upstream servers later).
  std::vector<Candidate> candidates;
  std::vector<uint8_t> ids;
  for (uint8_t i = 0; i < filters.size(); ++i) {
    if (filters[i].total() == 0) continue;
    SourceStats st = filters[i].stats();
    bool fresh = (local - st.lastLocalNs) * 1e-9 < 8;
    // A sample claiming more than a millisecond is not a PPS edge (NMEA alone).
    SourceKind kind = claimedError[i] < 1e-3 ? SourceKind::PPS : SourceKind::REFCLOCK;
    candidates.push_back({kind, fresh && st.count >= 3, st.offset,
                          std::max(3 * st.jitter, claimedError[i]) + 1e-6, st.jitter});
    ids.push_back(i);
  }
  Selection sel = select(candidates);
  for (size_t k = 0; k < ids.size(); ++k) marks[ids[k]] = sel.marks[k];
  int chosen = sel.selected >= 0 ? ids[sel.selected] : -1;
  if (chosen < 0 && candidates.size() == 1) chosen = id;   // a lone source, still acquiring
  selected = chosen;
  if (chosen != id) return;

  sync.onSample(filters[id].stats(), local);
  bool accepted = true;
  Command c = discipline.update(local * 1e-9, offset, error, &accepted);
  if (!accepted) return;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->apply(c); })) {
    log::error(kj::str("cannot adjust the clock: ", e->getDescription()));
  }
}

Header Hub::header(int64_t nowNs) const {
  Header h = sync.header(nowNs);
  if (sync.state() == Sync::UNSYNCHRONISED || !discipline.started()) return h;
  // Dispersion: the sample noise plus 3 sigma of the predicted offset error, which in holdover
  // grows with the frequency's uncertainty and the measured wander.
  Estimate e = discipline.estimate();
  double age = std::max(0.0, nowNs * 1e-9 - discipline.lastUpdate());
  h.rootDispersion = ntp::shortFromSeconds(e.jitter + 3 * discipline.predictedSigma(age));
  if (leap.announce == LeapAction::INSERT) h.leap = 1;
  if (leap.announce == LeapAction::DELETE) h.leap = 2;
  return h;
}

void Hub::saveState(int64_t nowNs) {
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    Estimate est = discipline.estimate();
    if (!options.driftfile.empty()) {
      writeDrift(options.driftfile, {est.frequency, est.frequencySigma});
    }
    if (!options.statePath.empty()) {
      writeStepState(options.statePath, {options.bootId, discipline.updatesDone(), nowNs});
    }
  })) {
    log::warn(kj::str("cannot save state: ", e->getDescription()));
  }
}

void Hub::pushState() {
  KJ_IF_MAYBE(listener, netdListener) {
    Header h = header(realtimeNs());
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
  int64_t now = realtimeNs();
  KJ_IF_MAYBE(what, clock->foreignAdjustment()) {
    ++foreign;
    log::warn(kj::str("another process is adjusting the clock: ", *what));
  }
  if (sync.tick(now)) {
    // Logged once per change, with its reason.
    log::info(kj::str("state ", syncName(sync.state()), ": ", sync.reason().c_str()));
    if (sync.state() == Sync::HOLDOVER) {
      KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->apply(discipline.coast()); })) {
        log::error(kj::str("cannot adjust the clock: ", e->getDescription()));
      }
    }
  }
  if (options.leap) {
    LeapStatus before = leap;
    leap = leapStatus(*options.leap, now / 1'000'000'000);
    // The kernel inserts at the next midnight: tell it only when we are synchronised.
    LeapAction kernel = sync.state() == Sync::UNSYNCHRONISED ? LeapAction::NONE : leap.kernel;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->setLeap(kernel); })) {
      log::error(kj::str("cannot set the leap flag: ", e->getDescription()));
    }
    if (leap.expired && !before.expired) log::warn("leap seconds: the leap file has expired");
    if (leap.announce != before.announce) {
      log::info(kj::str("leap second ", leap.announce == LeapAction::NONE ? "no longer " : "",
                        "announced for ", leap.at));
    }
  }
  if (sync.state() == Sync::LOCKED && now - lastSaveNs > 600'000'000'000) {
    saveState(now);
    lastSaveNs = now;
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
  Header h = header(now);
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
    c.setSamples(filters[selected].total());
    c.setLastSampleNs(st.lastLocalNs);
  }
  Estimate e = discipline.estimate();
  c.setOffset(e.offset);
  c.setJitter(e.jitter);
  c.setFrequency(e.frequency * 1e6);
  c.setOffsetSigma(e.offsetSigma);
  c.setFrequencySigma(e.frequencySigma * 1e6);
  c.setWander(e.wander);
  c.setSteps(discipline.stepsDone());
  c.setForeignAdjustments(foreign);
  c.setRejectedMessages(rejected);
  if (!options.leapAlarm.empty()) c.setLeapAlarm(options.leapAlarm.c_str());
  else if (leap.expired) c.setLeapAlarm("leap file expired");
  c.setLeapPendingNs(leap.announce == LeapAction::NONE ? 0 : leap.at * 1'000'000'000);

  size_t heard = 0;
  for (auto& f: filters) heard += f.total() > 0;
  auto sources = out.initSources(heard);
  size_t k = 0;
  for (uint8_t i = 0; i < filters.size(); ++i) {
    if (filters[i].total() == 0) continue;
    SourceStats st = filters[i].stats();
    auto o = sources[k++];
    o.setSourceId(i);
    o.setKind(claimedError[i] < 1e-3 ? "pps" : "refclock");
    char mark[2] = {static_cast<char>(marks[i]), 0};
    o.setMark(mark);
    o.setOffset(st.offset);
    o.setError(std::max(3 * st.jitter, claimedError[i]) + 1e-6);
    o.setJitter(st.jitter);
    o.setSamples(filters[i].total());
    o.setLastSampleNs(st.lastLocalNs);
  }

  copyPeer(refclockd, out.initRefclockd(), [](auto st) { return st.getRefclockd().getBody(); });
  copyPeer(netd, out.initNetd(), [](auto st) { return st.getNetd().getBody(); });
}

}  // namespace horloge::clockd
