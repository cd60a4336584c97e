#include "hub.h"
#include "error-text.h"
#include "ipc.h"
#include "ntp-time.h"
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
  out.setRestarts(p.restarts);
  if (p.info.get() != nullptr) out.setInfo(p.info->getRoot<ipc::DaemonInfo>().asReader());
  if (p.body.get() != nullptr) out.setBody(body(p.body->getRoot<ipc::SystemStatus>().asReader()));
}

}  // namespace

uint64_t Hub::Peer::attach(ipc::DaemonInfo::Reader peerInfo) {
  // Saying hello again with another pid: the peer was restarted.
  if (info.get() != nullptr && info->getRoot<ipc::DaemonInfo>().getPid() != peerInfo.getPid()) {
    ++restarts;
  }
  generation = ++issued;
  info = copyOf<ipc::DaemonInfo>(peerInfo);
  connected = true;
  lastSeenNs = realtimeNs();
  return generation;
}

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
    log::warn(kj::str("cannot read the clock's frequency: ", errorText(*unused)));
  }
  KJ_IF_MAYBE(drift, options.drift) discipline.setInitialFrequency(drift->frequency, drift->sigma);
  // Beyond 500 ppm no crystal is that far off: the previous clockd died slewing, and the
  // correction says nothing about the oscillator.
  if (inForce != 0 && std::fabs(inForce) <= 500e-6 && clock->steers()) {
    // A correction in force was left by a previous clockd (the kernel keeps it across our
    // restart; so does the persisted sim clock): start from it, as chrony does, or the first
    // update would change the clock's rate before the samples say anything. Its uncertainty:
    // the default, or the drift file's widened by their disagreement.
    double sigma = options.discipline.initialFrequencySigma;
    KJ_IF_MAYBE(drift, options.drift) {
      sigma = std::max(drift->sigma, std::fabs(-inForce - drift->frequency));
    }
    discipline.setInitialFrequency(-inForce, sigma);
    log::info(kj::str("starting from the frequency correction in force, ", inForce * 1e6, " ppm"));
  }
  discipline.setUpdatesDone(options.updatesDone);
  KJ_IF_MAYBE(m, options.temperatureMemory) {
    discipline.temperatureModel().restore(*m);
    TemperatureFit f = discipline.temperatureModel().fit();
    log::info(kj::str("temperature: continuing the relation learnt before, ", f.linear * 1e6,
                      " ppm/C and ", f.quadratic * 1e6, " ppm/C^2 about ", f.reference, " C",
                      f.active ? "" : " (not yet in use)"));
  }
  // The leap file's alarm, if any, is logged by the first tick (updateLeap), unless a
  // receiver's leap information already covers for it.
}

// ---- refclockd ----

uint64_t Hub::refclockdHello(ipc::DaemonInfo::Reader info) {
  uint64_t connection = refclockd.attach(info);
  log::info(kj::str("refclockd attached (pid ", info.getPid(), ")"));
  return connection;
}

void Hub::refclockdClosed(uint64_t connection) {
  if (!refclockd.current(connection)) return;
  refclockd.connected = false;
  refclockd.generation = 0;
  log::warn("refclockd disconnected");
}

void Hub::refclockdSample(uint64_t connection, ipc::RefSample::Reader s) {
  if (refclockd.current(connection)) refclockd.lastSeenNs = realtimeNs();
  int64_t local = s.getSystemTimeNs();
  if (beforeStep(local)) return;
  // The sim backend's virtual clock adds its own error to what was measured.
  double offset = (local - s.getReferenceTimeNs()) * 1e-9 + clock->sampleBias(local);
  double error = s.getErrorNs() * 1e-9;
  uint8_t id = s.getSourceId();
  SourceKind kind = s.getKind() == ipc::SampleKind::NMEA ? SourceKind::NMEA : SourceKind::PPS;
  // NMEA alone once the PPS is gone: while the clock the PPS disciplined, in holdover, is still
  // better than NMEA's claim, it keeps its own time; NMEA takes over when it is not (or once
  // holdover has ended).
  if (kind == SourceKind::NMEA && reference.kind == SourceKind::PPS &&
      reference.source.isRefclock() && sync.state() != Sync::UNSYNCHRONISED &&
      ownError(reference, discipline, clock->reading(realtimeNs())) < error) {
    return;
  }
  sources.addSample(id, local, offset, error, kind);

  if (reselect(local, SourceId::refclock(id)) != SourceId::refclock(id)) return;
  reference = {SourceId::refclock(id), kind, error};
  follow(local, offset, error, false);
  sync.setSource(kj::str("reference clock"), 1, false);
  sync.onSample(sources.refclock(id).filter.stats(), local,
                unslewed(discipline, clock->reading(realtimeNs()), options.sync.lockMaxOffset));
}

void Hub::refclockdStatus(uint64_t connection, capnp::List<ipc::RefclockStatus>::Reader list) {
  if (!refclockd.current(connection)) return;
  auto m = kj::heap<capnp::MallocMessageBuilder>();
  m->initRoot<ipc::SystemStatus>().getRefclockd().setBody(list);
  refclockd.body = kj::mv(m);
  refclockd.lastSeenNs = realtimeNs();
  onReceiverLeap(list);
}

void Hub::onReceiverLeap(capnp::List<ipc::RefclockStatus>::Reader list) {
  // Several receivers: the newest report that knows the next event (they say the same thing,
  // the broadcast being one).
  for (auto r: list) {
    auto l = r.getLeap();
    if (l.getReceivedNs() == 0 || !l.getChangeValid()) continue;
    // On the served clock's axis, as updateLeap() judges it (the same but under `clock sim`).
    int64_t at = static_cast<int64_t>(std::floor(clock->reading(l.getReceivedNs())));
    if (receiverLeap && receiverLeap->receivedUnix > at) continue;
    ReceiverLeap got;
    got.receivedUnix = at;
    got.currentValid = l.getCurrentValid();
    got.taiMinusUtc = l.getTaiMinusUtc();
    got.changeValid = true;
    got.change = l.getChange();
    got.atUnix = got.change != 0 ? l.getAtNs() / ntp::NS_PER_S : 0;
    receiverLeap = got;
  }
}

void Hub::fillHint(ipc::ClockHint::Builder hint) {
  hint.setSynced(sync.state() != Sync::UNSYNCHRONISED && sources.chosen().isRefclock());
  if (discipline.started()) {
    // The system clock's offset now (under `clock sim` the virtual clock's own error is not the
    // system clock's).
    int64_t now = realtimeNs();
    hint.setOffsetNs((discipline.predictedOffset(clock->reading(now)) - clock->sampleBias(now)) * 1e9);
  }
  hint.setSteps(discipline.stepsDone());
}

// ---- netd ----

uint64_t Hub::netdAttach(uint64_t previous, ipc::DaemonInfo::Reader info,
                         ipc::StateListener::Client listener) {
  // Attached again on this connection: its new listener replaces the old one.
  std::erase_if(netdListeners, [previous](auto& l) { return l.generation == previous; });
  uint64_t connection = netd.attach(info);
  netdListeners.push_back({connection, kj::mv(listener)});
  log::info(kj::str("netd attached (pid ", info.getPid(), ")"));
  pushKeysTo(netdListeners.back().listener);
  pushState();
  return connection;
}

void Hub::netdClosed(uint64_t connection) {
  if (connection == 0) return;
  std::erase_if(netdListeners, [connection](auto& l) { return l.generation == connection; });
  if (netd.generation != connection) return;
  if (netdListeners.empty()) {
    netd.generation = 0;
    netd.connected = false;
    log::warn("netd disconnected");
  } else {
    // The newest connection still attached becomes the one reported.
    netd.generation = netdListeners.back().generation;
  }
}

void Hub::netdStats(uint64_t connection, ipc::NetdStats::Reader stats) {
  if (netd.generation != connection) return;   // another netd is the one reported
  auto m = kj::heap<capnp::MallocMessageBuilder>();
  m->initRoot<ipc::SystemStatus>().getNetd().setBody(stats);
  netd.body = kj::mv(m);
  netd.lastSeenNs = realtimeNs();
}

uint64_t Hub::ntskdAttach(uint64_t previous, ipc::DaemonInfo::Reader info,
                          ipc::KeyListener::Client listener) {
  std::erase_if(ntskdListeners, [previous](auto& l) { return l.generation == previous; });
  uint64_t connection = ntskd.attach(info);
  ntskdListeners.push_back({connection, kj::mv(listener)});
  log::info(kj::str("ntskd attached (pid ", info.getPid(), ")"));
  pushKeysTo(ntskdListeners.back().listener);
  return connection;
}

void Hub::ntskdClosed(uint64_t connection) {
  if (connection == 0) return;
  std::erase_if(ntskdListeners, [connection](auto& l) { return l.generation == connection; });
  if (ntskd.generation != connection) return;
  if (ntskdListeners.empty()) {
    ntskd.generation = 0;
    ntskd.connected = false;
    log::warn("ntskd disconnected");
  } else {
    ntskd.generation = ntskdListeners.back().generation;
  }
}

void Hub::ntskdStats(uint64_t connection, ipc::NtskeStats::Reader stats) {
  if (ntskd.generation != connection) return;
  auto m = kj::heap<capnp::MallocMessageBuilder>();
  m->initRoot<ipc::SystemStatus>().getNtskd().setBody(stats);
  ntskd.body = kj::mv(m);
  ntskd.lastSeenNs = realtimeNs();
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

void Hub::netdUpstream(ipc::UpstreamSample::Reader s) {
  uint8_t k = s.getServer();
  UpstreamSource& u = sources.upstream(k);
  UpstreamReport r;
  r.address = kj::str(s.getAddress());
  r.noselect = s.getNoselect();
  r.prefer = s.getPrefer();
  r.poll = s.getPoll();
  r.reach = s.getReach();
  r.stopped = s.getStopped();
  int64_t t4 = s.getT4Ns();
  // An exchange that began before our last step is no sample (but the server was heard).
  if (s.getValid() && !beforeStep(s.getT1Ns())) {
    r.valid = true;
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
    log::warn(kj::str("upstream ", u.address, " follows us: a loop"));
  }
  if (got == Intake::NO_SAMPLE || got == Intake::NO_SAMPLE_NEW_LOOP) return;

  SourceId chosen = reselect(t4, {});
  if (!chosen.isUpstream()) return;   // a refclock, or nobody to trust
  // Each new sample of a server selected or combined steers the clock, once.
  if (steers(sources.upstreamMark(k))) {
    const NtpSample& sample = u.filter.newest();
    follow(sample.localNs, u.offsetOf(sample), u.sigma(sample), true);
  }
  reference.source = chosen;
  const UpstreamSource& f = sources.upstream(chosen.index());
  sync.setSource(kj::str("upstream ", f.address), std::ldexp(1.0, f.poll), true);
  // The followed server's replies keep the sync run going while our error is bounded.
  if (k != chosen.index() || !relayBounded(f, discipline, t4, clock->reading(t4))) return;
  SourceStats st;
  st.count = f.filter.count();
  st.offset = f.offsetAt(t4, discipline.phaseCorrection(clock->reading(t4)));
  st.jitter = f.stats.jitter;
  st.lastLocalNs = t4;
  sync.onSample(st, t4);
}

// ---- selection and the discipline ----

SourceId Hub::reselect(int64_t local, SourceId trigger) {
  bool alarmed = sources.gpsAlarm().raised();
  SourceId chosen = sources.select(local, discipline.phaseCorrection(clock->reading(local)), trigger);
  if (sources.gpsAlarm().raised() != alarmed) {
    if (sources.gpsAlarm().raised()) log::error(kj::str(sources.gpsAlarm().text()));
    else log::info("GPS agrees with its noselect peers again");
  }
  return chosen;
}

void Hub::apply(const Command& c) {
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->apply(c); })) {
    log::error(kj::str("cannot adjust the clock: ", errorText(*e)));
    return;
  }
  if (c.step != 0 && clock->steers()) {
    // Samples queued behind the one that made the step, from refclockd or netd, would
    // otherwise come back as if the step had never been made. Stamps before the step are below
    // this on the new timescale too (a step back of the system clock puts them up to |step|
    // ahead of the new one; the sim clock's stamps are the host's, never stepped).
    double overlap = clock->stepsStamps() ? std::max(0.0, -c.step) : 0;
    stepFenceNs = realtimeNs() + static_cast<int64_t>(std::ceil(overlap * 1e9));
    fenceLogged = false;
  }
}

bool Hub::beforeStep(int64_t stampNs) {
  if (stampNs >= stepFenceNs) return false;
  if (!fenceLogged) log::info("a sample taken before the clock step was dropped");
  fenceLogged = true;
  return true;
}

void Hub::follow(int64_t local, double offset, double error, bool knownNoise) {
  // A slew that should have ended by now ends first (its timer has not fired yet).
  if (discipline.slewEnd() <= clock->reading(realtimeNs())) endSlew();
  // Read after that (it writes and pushes): the new command takes effect a moment from now,
  // and at a slew's rate every millisecond between counts.
  double now = clock->reading(realtimeNs());
  bool accepted = true;
  // Applied now, a fraction of a second after the sample (refclockd polls SHM every 200 ms):
  // the discipline counts the previous correction as in force until then.
  double t = clock->reading(local);
  Command c = knownNoise ? discipline.updateKnownNoise(t, offset, error, &accepted, now)
                         : discipline.update(t, offset, error, &accepted, now);
  if (!accepted) return;
  constexpr double RMS_WEIGHT = 1.0 / 16;   // about the last 16 updates
  rmsOffset = lastUpdateNs == 0 ? std::fabs(offset)
                                : std::sqrt((1 - RMS_WEIGHT) * rmsOffset * rmsOffset +
                                            RMS_WEIGHT * offset * offset);
  lastOffset = offset;
  if (lastUpdateNs != 0) updateIntervalNs = local - lastUpdateNs;
  lastUpdateNs = local;
  apply(c);
  slewTimer = nullptr;
  if (c.slewFor > 0) {
    auto delay = static_cast<int64_t>(std::ceil(c.slewFor * 1e9)) * kj::NANOSECONDS;
    slewTimer = timer.afterDelay(delay).then([this]() { endSlew(); }).eagerlyEvaluate(nullptr);
  }
  pushState();   // the sim clock's model changed
}

void Hub::endSlew() {
  KJ_IF_MAYBE(c, discipline.endSlew(clock->reading(realtimeNs()))) {
    apply(*c);
    pushState();
  }
}

// ---- what we claim ----

ServerHeader Hub::header(int64_t nowNs) {
  HeaderInputs in;
  in.base = sync.header(nowNs);
  in.disciplined = sync.state() != Sync::UNSYNCHRONISED && discipline.started();
  if (!in.disciplined) return in.base;
  in.reference = reference;
  in.ownError = ownError(reference, discipline, clock->reading(nowNs));
  in.announce = leap.announce;
  if (reference.relay()) in.relay = relayHeader(sources.upstream(reference.source.index()), nowNs);
  in.gpsAlarm = sources.gpsAlarm().raised();
  return advertisedHeader(in);
}

void Hub::pushState() {
  if (sync.state() != Sync::UNSYNCHRONISED) hadOwnState = true;
  if (netdListeners.empty()) return;
  int64_t nowNs = realtimeNs();
  ServerHeader h = header(nowNs);
  ClockModel m = clock->model(nowNs);
  // Nothing of our own to say yet (a restart): netd may keep a previous clockd's good state.
  bool isStarting = starting(hadOwnState, h, sources.gpsAlarm().raised());
  // The header assumes the slew in progress ends on time; netd adds what a late end costs.
  PlannedSlew slew;
  if (clock->steers() && discipline.slewRate() > 0) {
    double left = discipline.slewEnd() - clock->reading(nowNs);   // steered seconds
    slew = {nowNs + static_cast<int64_t>(std::ceil(left / (1 + m.frequency) * 1e9)),
            discipline.slewRate()};
  }
  for (auto& attached: netdListeners) {
    auto req = attached.listener.updateRequest();
    writeServerState(req.initState(), {h, m, isStarting, slew});
    tasks.add(req.send().ignoreResult());
  }
}

// ---- time passing ----

void Hub::updateLeap(int64_t now) {
  LeapKnowledge before = leapKnown;
  LeapFileInput file;
  KJ_IF_MAYBE(table, options.leap) file.table = table;
  file.path = options.leapPath.cStr();
  file.alarm = options.leapAlarm.cStr();
  // Judged on the served clock (the system clock but under `clock sim`, whose virtual clock may
  // start at another date): its midnights are the ones the leap falls on.
  leapKnown = combineLeap(file, receiverLeap, static_cast<int64_t>(std::floor(clock->reading(now))));
  leap = leapKnown.status;
  // The kernel inserts at the next midnight: tell it only when we are synchronised.
  LeapAction kernel = sync.state() == Sync::UNSYNCHRONISED ? LeapAction::NONE : leap.kernel;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { clock->setLeap(kernel); })) {
    log::error(kj::str("cannot set the leap flag: ", errorText(*e)));
  }
  if (leapKnown.alarm != before.alarm && !leapKnown.alarm.empty()) {
    log::warn(kj::str("leap seconds: ", leapKnown.alarm.c_str()));
  }
  if (leapKnown.source != before.source) {
    log::info(kj::str("leap seconds known from: ",
                      leapKnown.source.empty() ? "nothing valid" : leapKnown.source.c_str()));
  }
  if (leap.announce != before.status.announce || leap.at != before.status.at) {
    log::info(kj::str("leap second ", leap.announce == LeapAction::NONE ? "no longer " : "",
                      "announced for ", leap.announce == LeapAction::NONE ? before.status.at : leap.at));
  }
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
    TemperatureMemory m = discipline.temperatureModel().memory();
    if (!options.temperaturePath.empty() && m.weight > 0) {
      writeTemperatureMemory(options.temperaturePath, m);
    }
  })) {
    log::warn(kj::str("cannot save state: ", errorText(*e)));
  }
}

void Hub::readTemperature(int64_t now) {
  kj::Maybe<double> reading = clock->temperature(now);
  if (reading == nullptr) {
    KJ_IF_MAYBE(sensor, options.temperatureSensor) reading = (*sensor)->read();
  }
  KJ_IF_MAYBE(c, reading) {
    double t = clock->reading(now);
    discipline.temperature(t, *c);
    celsius = *c;
    celsiusNs = now;
    // Holdover follows the learnt relation: the frequency predicted for the new temperature.
    if (sync.state() == Sync::HOLDOVER && discipline.temperatureModel().active()) {
      double before = discipline.appliedCorrection();
      Command coast = discipline.coast(t);
      if (coast.correction != before) apply(coast);
    }
  }
}

kj::Promise<void> Hub::run() {
  int64_t now = realtimeNs();
  if (now >= nextTemperatureNs) {
    nextTemperatureNs = now + static_cast<int64_t>(options.temperatureInterval * 1e9);
    readTemperature(now);
  }
  KJ_IF_MAYBE(what, clock->foreignAdjustment()) {
    ++foreign;
    log::warn(kj::str("another process is adjusting the clock: ", *what));
  }
  if (sync.tick(now)) {
    // Logged once per change, with its reason.
    log::info(kj::str("state ", ipc::syncStateName(sync.state()), ": ", sync.reason()));
    if (sync.state() == Sync::HOLDOVER) apply(discipline.coast(clock->reading(now)));
  }
  updateLeap(now);
  if (sync.state() == Sync::LOCKED && now - lastSaveNs > 600 * ntp::NS_PER_S) {
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

void Hub::reject(const kj::Exception& e, kj::StringPtr from) {
  ++rejected;
  rejectLog.warn(kj::str("refused a message from ", from, ": ", errorText(e)));
}

void Hub::taskFailed(kj::Exception&& e) {
  // A push to a netd that just went away; its feed's destructor removes the listener.
  log::warn(kj::str("push to netd failed: ", errorText(e)));
}

// ---- the status ----

void Hub::fillStatus(ipc::SystemStatus::Builder out) {
  int64_t now = realtimeNs();
  out.setGeneratedNs(now);
  ipc::fillDaemonInfo(out.initClockd(), Role::CLOCKD, startedNs);
  out.getClockd().setUser(options.user);

  auto c = out.initClock();
  c.setBackend(clock->name());
  c.setState(sync.state());
  c.setReason(sync.reason());
  ServerHeader h = header(now);
  writeServerHeader(c.initServer(), h);
  c.setRefid(refidText(h.refid, h.stratum));
  if (h.leap != 3) c.setSourceKind(servedKind(reference));
  SourceId chosen = sources.chosen();
  if (chosen.isRefclock()) {
    const RefclockSource& r = sources.refclock(chosen.index());
    c.setSamples(r.filter.total());
    c.setLastSampleNs(r.filter.stats().lastLocalNs);
  }
  Estimate e = discipline.estimate();
  c.setOffset(e.offset);
  c.setJitter(e.jitter);
  c.setFrequency(e.frequency * 1e6);
  c.setOffsetSigma(e.offsetSigma);
  c.setFrequencySigma(e.frequencySigma * 1e6);
  c.setWander(e.wander);
  c.setLastOffset(lastOffset);
  c.setRmsOffset(rmsOffset);
  c.setUpdateIntervalNs(updateIntervalNs);
  c.setResidualFrequency(chosen.isRefclock() ? sources.refclock(chosen.index()).filter.stats().frequency
                                             : NAN);
  c.setSteps(discipline.stepsDone());
  c.setForeignAdjustments(foreign);
  c.setRejectedMessages(rejected);
  c.setLeapAlarm(leapKnown.alarm.c_str());
  c.setLeapSource(leapKnown.source.c_str());
  c.setLeapValidUntilNs(leapKnown.validUntil * ntp::NS_PER_S);
  c.setLeapPendingNs(leap.announce == LeapAction::NONE ? 0 : leap.at * ntp::NS_PER_S);
  c.setGpsAlarm(sources.gpsAlarm().text());
  KJ_IF_MAYBE(table, options.leap) c.setLeapExpiresNs(table->expiresUnix * ntp::NS_PER_S);
  auto temp = c.initTemperature();
  temp.setSensor(options.temperatureSource);
  KJ_IF_MAYBE(sensor, options.temperatureSensor) temp.setProblem((*sensor)->problem());
  temp.setCelsius(celsius);
  temp.setReadNs(celsiusNs);
  TemperatureFit fit = discipline.temperatureModel().fit();
  temp.setActive(fit.active);
  temp.setReference(fit.reference);
  temp.setLag(fit.lag);
  temp.setWindows(fit.windows);
  temp.setLinear(fit.linear * 1e6);
  temp.setLinearSigma(fit.linearSigma * 1e6);
  temp.setQuadratic(fit.quadratic * 1e6);
  temp.setQuadraticSigma(fit.quadraticSigma * 1e6);

  auto list = out.initSources(sources.heard());
  size_t k = 0;
  auto mark = [](Mark m) { return kj::heapString(reinterpret_cast<const char*>(&m), 1); };
  for (uint8_t i = 0; i < MAX_SOURCES; ++i) {
    const RefclockSource& r = sources.refclock(i);
    if (!r.heard()) continue;
    SourceStats st = r.filter.stats();
    auto o = list[k++];
    o.setSourceId(i);
    o.setKind(kindName(r.kind));
    o.setMark(mark(r.mark));
    o.setOffset(st.offset);
    o.setError(r.error(st));
    o.setJitter(st.jitter);
    o.setSamples(r.filter.total());
    o.setLastSampleNs(st.lastLocalNs);
    o.setLastOffset(r.filter.newestOffset());
    o.setReach(r.filter.reach(now));
  }
  for (uint8_t i = 0; i < MAX_SERVERS; ++i) {
    const UpstreamSource& u = sources.upstream(i);
    if (!u.heard) continue;
    auto o = list[k++];
    o.setSourceId(i);
    o.setKind(kindName(SourceKind::NTP));
    o.setMark(mark(sources.upstreamMark(i)));
    o.setOffset(u.offsetAt(now, discipline.phaseCorrection(clock->reading(now))));
    o.setError(u.error(now));
    o.setJitter(u.stats.jitter);
    o.setSamples(u.total);
    o.setLastSampleNs(u.lastNs);
    o.setName(u.address);
    o.setStratum(u.stratum);
    o.setPoll(u.poll);
    o.setReach(u.reach);
    if (u.filter.count() > 0) o.setLastOffset(u.offsetOf(u.filter.newest()));
    o.setDelay(u.filter.minDelay());
    o.setNoselect(u.noselect);
    o.setInconsistent(u.inconsistent);
  }

  copyPeer(refclockd, out.initRefclockd(), [](auto st) { return st.getRefclockd().getBody(); });
  copyPeer(netd, out.initNetd(), [](auto st) { return st.getNetd().getBody(); });
  if (options.ntsKeys != nullptr) {
    copyPeer(ntskd, out.initNtskd(), [](auto st) { return st.getNtskd().getBody(); });
    auto n = out.initNts();
    n.setEnabled(true);
    n.setKeys(options.ntsKeys->keys().keys.size());
    n.setCurrentKeyAgeNs(options.ntsKeys->currentAgeNs(realtimeNs()));
    n.setRotations(options.ntsKeys->rotations());
  }
}

}  // namespace horloge::clockd
