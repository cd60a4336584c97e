#include "hub.h"
#include "ipc.h"
#include "ntp-time.h"
#include "validate.h"
#include <kj/debug.h>
#include <cmath>

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
  RefclockFeedImpl(Hub& hub): hub(hub) {}
  ~RefclockFeedImpl() noexcept(false) {
    if (current()) {
      hub.refclockd.connected = false;
      hub.refclockd.generation = 0;
      log::warn("refclockd disconnected");
    }
  }

  kj::Promise<void> hello(HelloContext context) override {
    return hub.checked("refclockd", [&]() {
      auto info = context.getParams().getInfo();
      validateDaemonInfo(info, ipc::Role::REFCLOCKD);
      generation = hub.refclockd.generation = ++hub.refclockd.issued;
      hub.refclockd.info = copyOf<ipc::DaemonInfo>(info);
      hub.refclockd.connected = true;
      touch();
      log::info(kj::str("refclockd attached (pid ", info.getPid(), ")"));
    });
  }
  kj::Promise<void> pushSample(PushSampleContext context) override {
    return hub.checked("refclockd", [&]() {
      KJ_REQUIRE(generation != 0, "hello first");
      auto s = context.getParams().getSample();
      validateSample(s);
      touch();
      hub.onSample(s);
    });
  }
  kj::Promise<void> pushStatus(PushStatusContext context) override {
    return hub.checked("refclockd", [&]() {
      KJ_REQUIRE(generation != 0, "hello first");
      auto list = context.getParams().getStatus();
      validateRefclockStatus(list);
      if (current()) {
        auto m = kj::heap<capnp::MallocMessageBuilder>();
        m->initRoot<ipc::SystemStatus>().getRefclockd().setBody(list);
        hub.refclockd.body = kj::mv(m);
        touch();
      }
      // Tells refclockd whether our clock may number PPS edges that lack NMEA (within 0.4 s).
      auto hint = context.getResults().initHint();
      hint.setSynced(hub.sync.state() != Sync::UNSYNCHRONISED && hub.selected >= 0);
      if (hub.discipline.started()) {
        // The system clock's offset now (under `clock sim` the virtual clock's own error is
        // not the system clock's).
        int64_t now = realtimeNs();
        hint.setOffsetNs((hub.discipline.predictedOffset(hub.clock->reading(now)) - hub.clock->sampleBias(now)) * 1e9);
      }
      hint.setSteps(hub.discipline.stepsDone());
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;   // 0 until hello
  bool current() const { return generation != 0 && hub.refclockd.generation == generation; }
  void touch() { if (current()) hub.refclockd.lastSeenNs = realtimeNs(); }
};

class NetdFeedImpl final: public ipc::NetdFeed::Server {
public:
  NetdFeedImpl(Hub& hub): hub(hub) {}
  ~NetdFeedImpl() noexcept(false) {
    if (generation != 0) hub.netdDetached(generation);
  }

  kj::Promise<void> attach(AttachContext context) override {
    return hub.checked("netd", [&]() {
      auto params = context.getParams();
      validateDaemonInfo(params.getInfo(), ipc::Role::NETD);
      // Attached again on this connection: its new listener replaces the old one.
      std::erase_if(hub.netdListeners, [this](auto& l) { return l.generation == generation; });
      generation = hub.netd.generation = ++hub.netd.issued;
      hub.netd.info = copyOf<ipc::DaemonInfo>(params.getInfo());
      hub.netd.connected = true;
      hub.netd.lastSeenNs = realtimeNs();
      hub.netdListeners.push_back({generation, params.getListener()});
      log::info(kj::str("netd attached (pid ", params.getInfo().getPid(), ")"));
      hub.pushKeysTo(hub.netdListeners.back().listener);
      hub.pushState();
    });
  }
  kj::Promise<void> pushUpstream(PushUpstreamContext context) override {
    return hub.checked("netd", [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto s = context.getParams().getSample();
      validateUpstreamSample(s);
      hub.onUpstream(s);
    });
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    return hub.checked("netd", [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto stats = context.getParams().getStats();
      validateNetdStats(stats);
      if (hub.netd.generation != generation) return;   // another netd is the one reported
      auto m = kj::heap<capnp::MallocMessageBuilder>();
      m->initRoot<ipc::SystemStatus>().getNetd().setBody(stats);
      hub.netd.body = kj::mv(m);
      hub.netd.lastSeenNs = realtimeNs();
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;   // 0 until attach
};

class NtskeFeedImpl final: public ipc::NtskeFeed::Server {
public:
  NtskeFeedImpl(Hub& hub): hub(hub) {}
  ~NtskeFeedImpl() noexcept(false) {
    if (generation != 0) hub.ntskdDetached(generation);
  }

  kj::Promise<void> attach(AttachContext context) override {
    return hub.checked("ntskd", [&]() {
      auto params = context.getParams();
      validateDaemonInfo(params.getInfo(), ipc::Role::NTSKD);
      std::erase_if(hub.ntskdListeners, [this](auto& l) { return l.generation == generation; });
      generation = hub.ntskd.generation = ++hub.ntskd.issued;
      hub.ntskd.info = copyOf<ipc::DaemonInfo>(params.getInfo());
      hub.ntskd.connected = true;
      hub.ntskd.lastSeenNs = realtimeNs();
      hub.ntskdListeners.push_back({generation, params.getListener()});
      log::info(kj::str("ntskd attached (pid ", params.getInfo().getPid(), ")"));
      hub.pushKeysTo(hub.ntskdListeners.back().listener);
    });
  }
  kj::Promise<void> pushStats(PushStatsContext context) override {
    return hub.checked("ntskd", [&]() {
      KJ_REQUIRE(generation != 0, "attach first");
      auto stats = context.getParams().getStats();
      validateNtskeStats(stats);
      if (hub.ntskd.generation != generation) return;
      auto m = kj::heap<capnp::MallocMessageBuilder>();
      m->initRoot<ipc::SystemStatus>().getNtskd().setBody(stats);
      hub.ntskd.body = kj::mv(m);
      hub.ntskd.lastSeenNs = realtimeNs();
    });
  }

private:
  Hub& hub;
  uint64_t generation = 0;
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
    p.maxSlewRate = 0;
    p.stepThreshold = 0;
    discipline = Discipline(p);
  }
  double inForce = 0;
  KJ_IF_MAYBE(unused, kj::runCatchingExceptions([&]() {
    inForce = clock->initialCorrection();
    discipline.setAppliedCorrection(inForce, clock->reading(realtimeNs()));
  })) {
    log::warn(kj::str("cannot read the clock's frequency: ", unused->getDescription()));
  }
  if (options.drift) discipline.setInitialFrequency(options.drift->frequency, options.drift->sigma);
  // Beyond 500 ppm no crystal is that far off: the previous clockd died slewing, and the
  // correction says nothing about the oscillator.
  if (inForce != 0 && std::fabs(inForce) <= 500e-6 && clock->steers()) {
    // A correction in force was left by a previous clockd (the kernel keeps it across our
    // restart; so does the persisted sim clock): start from it, as chrony does, or the first
    // update would change the clock's rate before the samples say anything. Its uncertainty:
    // the default, or the drift file's widened by their disagreement.
    double sigma = options.discipline.initialFrequencySigma;
    if (options.drift) {
      sigma = std::max(options.drift->sigma, std::fabs(-inForce - options.drift->frequency));
    }
    discipline.setInitialFrequency(-inForce, sigma);
    log::info(kj::str("starting from the frequency correction in force, ", inForce * 1e6, " ppm"));
  }
  discipline.setUpdatesDone(options.updatesDone);
  if (!options.leapAlarm.empty()) log::warn(kj::str("leap seconds: ", options.leapAlarm.c_str()));
}

void Hub::netdDetached(uint64_t generation) {
  std::erase_if(netdListeners, [generation](auto& l) { return l.generation == generation; });
  if (netd.generation != generation) return;
  if (netdListeners.empty()) {
    netd.generation = 0;
    netd.connected = false;
    log::warn("netd disconnected");
  } else {
    // The newest connection still attached becomes the one reported.
    netd.generation = netdListeners.back().generation;
  }
}

void Hub::ntskdDetached(uint64_t generation) {
  std::erase_if(ntskdListeners, [generation](auto& l) { return l.generation == generation; });
  if (ntskd.generation != generation) return;
  if (ntskdListeners.empty()) {
    ntskd.generation = 0;
    ntskd.connected = false;
    log::warn("ntskd disconnected");
  } else {
    ntskd.generation = ntskdListeners.back().generation;
  }
}

void Hub::pushKeysTo(ipc::StateListener::Client& listener) {
  if (options.ntsKeys == nullptr) return;
  auto req = listener.updateKeysRequest();
  nts::keySetToWire(options.ntsKeys->keys(), req.initKeys());
  tasks.add(req.send().ignoreResult());
}

void Hub::pushKeysTo(ipc::KeyListener::Client& listener) {
  if (options.ntsKeys == nullptr) return;
  auto req = listener.updateRequest();
  nts::keySetToWire(options.ntsKeys->keys(), req.initKeys());
  tasks.add(req.send().ignoreResult());
}

void Hub::pushKeys() {
  for (auto& l: netdListeners) pushKeysTo(l.listener);
  for (auto& l: ntskdListeners) pushKeysTo(l.listener);
}

ipc::NtskeFeed::Client Hub::newNtskeFeed() { return kj::heap<NtskeFeedImpl>(*this); }
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
  // NMEA alone once the PPS is gone: while the clock the PPS disciplined, in holdover, is still
  // better than NMEA's claim, it keeps its own time; NMEA takes over when it is not (or once
  // holdover has ended).
  if (s.getKind() == ipc::SampleKind::NMEA && refclockKind == SourceKind::PPS && followed < 0 &&
      sync.state() != Sync::UNSYNCHRONISED && ownError(realtimeNs()) < error) {
    return;
  }
  filters[id].add({local, offset, error});
  claimedError[id] = error;
  kinds[id] = s.getKind() == ipc::SampleKind::NMEA ? SourceKind::REFCLOCK : SourceKind::PPS;

  if (reselect(local, id) != id) return;
  followed = -1;
  refclockKind = kinds[id];
  sourceError = error;
  follow(local, offset, error, false);
  sync.setSource("reference clock", 1, false);
  sync.onSample(filters[id].stats(), local, unslewed(realtimeNs()));
}

int Hub::reselect(int64_t local, int trigger) {
  // Selection over every source heard from: refclocks and the upstream servers that are not
  // `noselect`; those are only asked about the GPS.
  std::vector<Candidate> candidates;
  std::vector<int> ids;
  for (uint8_t i = 0; i < filters.size(); ++i) {
    if (filters[i].total() == 0) continue;
    SourceStats st = filters[i].stats();
    bool fresh = (local - st.lastLocalNs) * 1e-9 < 8;
    candidates.push_back({kinds[i], fresh && st.count >= 3, st.offset,
                          std::max(3 * st.jitter, claimedError[i]) + 1e-6, st.jitter});
    ids.push_back(i);
  }
  // The GPS cross-check: the best refclock against the noselect peers.
  // Upstream offsets as of `local`, corrected for everything our clock was made to do.
  double phaseNow = discipline.phaseCorrection(clock->reading(local));
  std::vector<Candidate> peers;
  for (auto& u: upstreams) if (u.heard && u.noselect) peers.push_back(u.candidate(local, phaseNow));
  int gps = -1;
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (candidates[k].usable && (gps < 0 || candidates[k].error < candidates[gps].error)) gps = k;
  }
  if (gpsAlarm.update(gps >= 0 ? crossCheck(candidates[gps], peers) : std::string(), local)) {
    if (gpsAlarm.raised()) log::error(kj::str(gpsAlarm.text().c_str()));
    else log::info("GPS agrees with its noselect peers again");
  }
  // While alarmed, no refclock may be followed: stratum 1 is no longer claimed from them.
  std::vector<bool> wasUsable;
  for (auto& c: candidates) wasUsable.push_back(c.usable);
  if (gpsAlarm.raised()) for (auto& c: candidates) c.usable = false;
  size_t refclocks = candidates.size();
  bool quorum = upstreamQuorum(upstreams, local);
  for (size_t k = 0; k < upstreams.size(); ++k) {
    auto& u = upstreams[k];
    if (!u.heard || u.noselect) continue;
    candidates.push_back(u.candidate(local, phaseNow));
    candidates.back().prefer = u.prefer;
    candidates.back().usable = candidates.back().usable && quorum;
    ids.push_back(100 + static_cast<int>(k));
  }
  for (size_t k = 0; k < candidates.size(); ++k) candidates[k].current = ids[k] == lastChosen;
  Selection sel = select(candidates);
  for (size_t k = 0; k < refclocks; ++k) {
    marks[ids[k]] = gpsAlarm.raised() && wasUsable[k] ? Mark::FALSETICKER : sel.marks[k];
  }
  int chosen = sel.selected >= 0 ? ids[sel.selected] : -1;
  // A lone refclock, still acquiring (never while alarmed).
  if (chosen < 0 && candidates.size() == 1 && refclocks == 1 && !gpsAlarm.raised()) chosen = trigger;
  selected = chosen >= 0 && chosen < 100 ? chosen : -1;
  lastChosen = chosen;
  upstreamMarks.assign(upstreams.size(), Mark::UNUSABLE);
  for (size_t k = refclocks; k < candidates.size(); ++k) upstreamMarks[ids[k] - 100] = sel.marks[k];
  // noselect peers: 'x' when they disagree with the GPS, '-' (never used) otherwise.
  for (size_t k = 0; k < upstreams.size(); ++k) {
    auto& u = upstreams[k];
    if (!u.heard || !u.noselect || !u.usable(local)) continue;
    Candidate c = u.candidate(local, phaseNow);
    bool off = gps >= 0 && std::fabs(candidates[gps].offset - c.offset) > candidates[gps].error + c.error;
    upstreamMarks[k] = off ? Mark::FALSETICKER : Mark::OUTLIER;
  }
  return chosen;
}

void Hub::onUpstream(ipc::UpstreamSample::Reader s) {
  int k = s.getServer();
  auto& u = upstreams[k];
  UpstreamReport r;
  r.address = s.getAddress().cStr();
  r.noselect = s.getNoselect();
  r.prefer = s.getPrefer();
  r.poll = s.getPoll();
  r.reach = s.getReach();
  r.stopped = s.getStopped();
  r.valid = s.getValid();
  int64_t t4 = s.getT4Ns();
  if (r.valid) {
    r.t1Ns = s.getT1Ns();
    r.t2Ns = s.getT2Ns();
    r.t3Ns = s.getT3Ns();
    r.t4Ns = t4;
    r.stratum = s.getStratum();
    r.leap = s.getLeap();
    r.refid = s.getRefid();
    r.rootDelay = ntp::secondsFromShort(s.getRootDelay());
    r.rootDispersion = ntp::secondsFromShort(s.getRootDispersion());
  }
  // The sim backend adds its virtual clock's error, as for refclocks.
  double bias = r.valid ? clock->sampleBias(t4) : 0;
  Intake got = takeReport(u, r, bias, discipline.phaseCorrection(clock->reading(t4)), options.ownRefids);
  if (got == Intake::SAMPLE_NEW_LOOP || got == Intake::NO_SAMPLE_NEW_LOOP) {
    log::warn(kj::str("upstream ", u.address.c_str(), " follows us: a loop"));
  }
  if (got == Intake::NO_SAMPLE || got == Intake::NO_SAMPLE_NEW_LOOP) return;

  int chosen = reselect(t4, -1);
  if (chosen < 100) return;   // a refclock, or nobody to trust
  // Each new sample of a server selected or combined steers the clock, once.
  if (steers(upstreamMarks[k])) {
    const NtpSample& sample = u.filter.newest();
    follow(sample.localNs, u.offsetOf(sample), u.sigma(sample), true);
  }
  followed = chosen - 100;
  auto& f = upstreams[followed];
  sync.setSource("upstream " + f.address, std::ldexp(1.0, f.poll), true);
  // The followed server's replies keep the sync run going while our error is bounded.
  if (k != followed || !relayBounded(f, discipline, t4, clock->reading(t4))) return;
  SourceStats st;
  st.count = f.filter.count();
  st.offset = f.offsetAt(t4, discipline.phaseCorrection(clock->reading(t4)));
  st.jitter = f.stats.jitter;
  st.lastLocalNs = t4;
  sync.onSample(st, t4);
}

void Hub::follow(int64_t local, double offset, double error, bool knownNoise) {
  double now = clock->reading(realtimeNs());
  // A slew that should have ended by now ends first (its timer has not fired yet).
  if (discipline.slewEnd() <= now) endSlew();
  bool accepted = true;
  // Applied now, a fraction of a second after the sample (refclockd polls SHM every 200 ms):
  // the discipline counts the previous correction as in force until then.
  double t = clock->reading(local);
  Command c = knownNoise ? discipline.updateKnownNoise(t, offset, error, &accepted, now)
                         : discipline.update(t, offset, error, &accepted, now);
  if (!accepted) return;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->apply(c); })) {
    log::error(kj::str("cannot adjust the clock: ", e->getDescription()));
  }
  slewTimer = nullptr;
  if (c.slewFor > 0) {
    auto delay = static_cast<int64_t>(std::ceil(c.slewFor * 1e9)) * kj::NANOSECONDS;
    slewTimer = timer.afterDelay(delay).then([this]() { endSlew(); }).eagerlyEvaluate(nullptr);
  }
  pushState();   // the sim clock's model changed
}

void Hub::endSlew() {
  if (auto c = discipline.endSlew(clock->reading(realtimeNs()))) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->apply(*c); })) {
      log::error(kj::str("cannot adjust the clock: ", e->getDescription()));
    }
    pushState();
  }
}

double Hub::ownError(int64_t nowNs) {
  return (followed < 0 ? sourceError : 0) + discipline.estimate().jitter +
         discipline.errorBound(clock->reading(nowNs));
}

double Hub::unslewed(int64_t nowNs) {
  double t = clock->reading(nowNs);
  double age = std::max(0.0, t - discipline.lastUpdate());
  double left = discipline.offsetLeft(t);
  return left <= std::max(options.sync.lockMaxOffset, 3 * discipline.predictedSigma(age)) ? 0 : left;
}

Header Hub::header(int64_t nowNs) {
  Header h = sync.header(nowNs);
  if (sync.state() == Sync::UNSYNCHRONISED || !discipline.started()) return h;
  h.refid = refidFromText(refclockKind == SourceKind::PPS ? "PPS\0" : "NMEA");
  h.rootDispersion = ntp::shortFromSeconds(ownError(nowNs));
  if (leap.announce == LeapAction::INSERT) h.leap = 1;
  if (leap.announce == LeapAction::DELETE) h.leap = 2;
  if (followed >= 0) {
    // A relay: stratum and refid of the upstream followed, its root distance added to ours.
    RelayHeader r = relayHeader(upstreams[followed], nowNs);
    h.stratum = r.stratum;
    h.refid = r.refid;
    h.rootDelay = ntp::shortFromSeconds(r.rootDelay);
    h.rootDispersion = ntp::shortFromSeconds(ntp::secondsFromShort(h.rootDispersion) + r.rootDispersion);
    if (h.stratum >= 16) h.leap = 3;
  } else if (gpsAlarm.raised()) {
    // The GPS is suspected: no stratum 1 from it until the peers agree again.
    h.leap = 3;
    h.stratum = 16;
  }
  return h;
}

kj::String Hub::leapExpired() const {
  return kj::str("leap file expired on ", utcDate(options.leap->expiresUnix).c_str(), " (",
                 options.leapPath.c_str(), "): a leap second after that date cannot be announced");
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
  if (sync.state() != Sync::UNSYNCHRONISED) hadOwnState = true;
  if (netdListeners.empty()) return;
  Header h = header(realtimeNs());
  ClockModel m = clock->model(realtimeNs());
  // Nothing of our own to say yet (a restart): netd may keep a previous clockd's good state.
  bool starting = !hadOwnState && h.leap == 3 && !gpsAlarm.raised();
  for (auto& attached: netdListeners) {
    auto req = attached.listener.updateRequest();
    auto st = req.initState();
    st.setLeap(h.leap);
    st.setStratum(h.stratum);
    st.setPrecision(h.precision);
    st.setRefid(h.refid);
    st.setReferenceTime(h.referenceTime);
    st.setRootDelay(h.rootDelay);
    st.setRootDispersion(h.rootDispersion);
    st.setModelOffsetNs(m.offsetNs);
    st.setModelFrequency(m.frequency);
    st.setModelAtNs(m.atNs);
    st.setStarting(starting);
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
      auto coast = [&]() { clock->apply(discipline.coast(clock->reading(now))); };
      KJ_IF_MAYBE(e, kj::runCatchingExceptions(coast)) {
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
    if (leap.expired && !before.expired) log::warn(kj::str("leap seconds: ", leapExpired()));
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
  if (options.ntsKeys != nullptr) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      if (options.ntsKeys->rotateIfDue(now)) pushKeys();
    })) {
      log::error(kj::str("NTS keys: ", e->getDescription()));
    }
  }
  return timer.afterDelay(1 * kj::SECONDS).then([this]() { return run(); });
}

void Hub::taskFailed(kj::Exception&& e) {
  // A push to a netd that just went away; its feed's destructor removes the listener.
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
  c.setRefid(refidText(h.refid, h.stratum));
  if (h.leap != 3) c.setSourceKind(followed >= 0 ? "ntp" : refclockKind == SourceKind::PPS ? "pps" : "nmea");
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
  else if (leap.expired) c.setLeapAlarm(leapExpired());
  c.setLeapPendingNs(leap.announce == LeapAction::NONE ? 0 : leap.at * 1'000'000'000);
  c.setGpsAlarm(gpsAlarm.text().c_str());
  if (options.leap) c.setLeapExpiresNs(options.leap->expiresUnix * 1'000'000'000);

  size_t heard = 0;
  for (auto& f: filters) heard += f.total() > 0;
  for (auto& u: upstreams) heard += u.heard;
  auto sources = out.initSources(heard);
  size_t k = 0;
  for (uint8_t i = 0; i < filters.size(); ++i) {
    if (filters[i].total() == 0) continue;
    SourceStats st = filters[i].stats();
    auto o = sources[k++];
    o.setSourceId(i);
    o.setKind(kinds[i] == SourceKind::PPS ? "pps" : "nmea");
    char mark[2] = {static_cast<char>(marks[i]), 0};
    o.setMark(mark);
    o.setOffset(st.offset);
    o.setError(std::max(3 * st.jitter, claimedError[i]) + 1e-6);
    o.setJitter(st.jitter);
    o.setSamples(filters[i].total());
    o.setLastSampleNs(st.lastLocalNs);
  }
  for (size_t i = 0; i < upstreams.size(); ++i) {
    auto& u = upstreams[i];
    if (!u.heard) continue;
    auto o = sources[k++];
    o.setSourceId(static_cast<uint8_t>(i));
    o.setKind("ntp");
    char mark[2] = {static_cast<char>(i < upstreamMarks.size() ? upstreamMarks[i] : Mark::UNUSABLE), 0};
    o.setMark(mark);
    o.setOffset(u.offsetAt(now, discipline.phaseCorrection(clock->reading(now))));
    o.setError(u.error(now));
    o.setJitter(u.stats.jitter);
    o.setSamples(u.total);
    o.setLastSampleNs(u.lastNs);
    o.setName(u.address.c_str());
    o.setStratum(u.stratum);
    o.setPoll(u.poll);
    o.setReach(u.reach);
    o.setDelay(u.filter.minDelay());
    o.setNoselect(u.noselect);
  }

  copyPeer(refclockd, out.initRefclockd(), [](auto st) { return st.getRefclockd().getBody(); });
  copyPeer(netd, out.initNetd(), [](auto st) { return st.getNetd().getBody(); });
  if (options.ntsKeys != nullptr) {
    copyPeer(ntskd, out.initNtskd(), [](auto st) { return st.getNtskd().getBody(); });
    auto n = out.initNts();
    n.setEnabled(true);
    n.setKeys(options.ntsKeys->keys().keys.size());
    n.setCurrentKeyAgeNs(options.ntsKeys->currentAgeNs(now));
    n.setRotations(options.ntsKeys->rotations());
  }
}

}  // namespace horloge::clockd
