// clockd's centre: takes validated samples and peer reports, runs the state machine and the
// discipline, pushes the server state to netd, and answers status reads. What to follow and
// what to claim are decided by pure code (sources.h, reference.h); the RPC objects each role's
// socket gets (feeds.c++) only validate and call the methods below, so each peer can reach only
// those of its own role.
#pragma once
#include "clock.h"
#include "discipline.h"
#include "leap-file.h"
#include "leap-sources.h"
#include "log.h"
#include "nts-keys.h"
#include "persist.h"
#include "reference.h"
#include "relay.h"
#include "sources.h"
#include "sync-state.h"
#include "temperature-sensor.h"
#include <horloge.capnp.h>
#include <capnp/message.h>
#include <kj/async.h>
#include <kj/timer.h>
#include <vector>

namespace horloge::clockd {

// Everything clockd's main() read or decided before serving.
struct HubOptions {
  SyncParams sync;
  DisciplineParams discipline;
  kj::Maybe<Drift> drift;                 // from the drift file
  // Where persist.h writes (its paths are the configuration's strings).
  std::string driftfile;                  // "": do not write one
  std::string statePath;                  // statedir/clockd.state
  std::string bootId;
  int updatesDone = 0;                    // makestep updates already made in this boot
  kj::Maybe<LeapTable> leap;
  kj::String leapPath;                    // the file `leap` came from
  kj::String leapAlarm;                   // why there is no usable leap table, or ""
  std::vector<uint32_t> ownRefids;        // our addresses as refids: an upstream loop
  kj::String user;                        // the account we run as (DaemonInfo.user)
  // The temperature, read every `temperatureInterval` s: the clock's own thermometer (`sim`),
  // else this sensor's file; with neither, the discipline behaves as without one.
  kj::Maybe<kj::Own<TemperatureSensor>> temperatureSensor;
  kj::String temperatureSource;           // what the status says the readings come from
  double temperatureInterval = 10;
  std::string temperaturePath;            // statedir/clockd.temperature; "": not kept
  kj::Maybe<TemperatureMemory> temperatureMemory;   // the relation it held at start
  NtsKeyStore* ntsKeys = nullptr;         // NTS on: the server keys (not owned), else null
};

class Hub: private kj::TaskSet::ErrorHandler {
public:
  Hub(kj::Timer& timer, kj::Own<Clock> clock, HubOptions options, int64_t startedNs);

  // Fresh bootstrap capabilities, one per accepted connection (feeds.c++).
  ipc::RefclockFeed::Client newRefclockFeed();
  ipc::NetdFeed::Client newNetdFeed();
  ipc::StatusReader::Client newStatusReader();
  ipc::NtskeFeed::Client newNtskeFeed();

  // Ticks the state machine and pushes the state to netd once a second. Never resolves.
  kj::Promise<void> run();

  void fillStatus(ipc::SystemStatus::Builder out);

  // ---- what the feeds call, each after validating its message ----
  // Connections are numbered when they say hello (refclockd) or attach (netd), never when
  // accepted: one that never did changes nothing when it closes, and only the current one (the
  // last to attach) can take the peer down. Numbers are never 0.
  uint64_t refclockdHello(ipc::DaemonInfo::Reader info);
  void refclockdClosed(uint64_t connection);
  void refclockdSample(uint64_t connection, ipc::RefSample::Reader sample);
  void refclockdStatus(uint64_t connection, capnp::List<ipc::RefclockStatus>::Reader list);
  // Whether our clock may number PPS edges that lack NMEA (within 0.4 s), and its offset.
  void fillHint(ipc::ClockHint::Builder hint);
  // `previous`: this connection's earlier attach, whose listener the new one replaces (0: none).
  uint64_t netdAttach(uint64_t previous, ipc::DaemonInfo::Reader info,
                      ipc::StateListener::Client listener);
  void netdClosed(uint64_t connection);
  void netdStats(uint64_t connection, ipc::NetdStats::Reader stats);
  void netdUpstream(ipc::UpstreamSample::Reader sample);
  // NTS: ntskd as netd (its record, every attached listener), and the server keys, pushed to
  // netd and ntskd when each attaches and at every rotation.
  uint64_t ntskdAttach(uint64_t previous, ipc::DaemonInfo::Reader info,
                       ipc::KeyListener::Client listener);
  void ntskdClosed(uint64_t connection);
  void ntskdStats(uint64_t connection, ipc::NtskeStats::Reader stats);

  // Runs `f` on a peer's message; a validation failure is counted, logged, and returned to the
  // peer as the call's error.
  template <typename F>
  kj::Promise<void> checked(kj::StringPtr from, F&& f) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions(kj::fwd<F>(f))) {
      reject(*e, from);
      return kj::mv(*e);
    }
    return kj::READY_NOW;
  }

  // A peer role's record, as the status reports it.
  struct Peer {
    uint64_t issued = 0;           // numbers given out so far
    uint64_t generation = 0;       // the current connection's number; 0: none
    bool connected = false;
    int64_t lastSeenNs = 0;
    uint32_t restarts = 0;         // came back with another pid
    kj::Own<capnp::MallocMessageBuilder> info;   // root: DaemonInfo
    kj::Own<capnp::MallocMessageBuilder> body;   // root: SystemStatus, only the peer's field set

    uint64_t attach(ipc::DaemonInfo::Reader info);   // a new current connection, numbered
    bool current(uint64_t connection) const { return connection != 0 && generation == connection; }
  };

private:
  kj::Timer& timer;
  kj::Own<Clock> clock;
  SyncStateMachine sync;
  int64_t startedNs;
  HubOptions options;
  Discipline discipline;
  Sources sources;
  Reference reference;
  uint64_t foreign = 0;
  int64_t lastSaveNs = 0;
  // chronyc's `tracking` figures, from the samples that steered the clock (follow()).
  double lastOffset = 0, rmsOffset = 0;
  int64_t lastUpdateNs = 0, updateIntervalNs = 0;
  LeapStatus leap;
  LeapKnowledge leapKnown;                 // file and receiver combined, as of the last tick
  std::optional<ReceiverLeap> receiverLeap;   // the newest report of any refclock
  // Combines the leap file and the receiver's report, tells the kernel, logs the changes.
  void updateLeap(int64_t nowNs);
  void onReceiverLeap(capnp::List<ipc::RefclockStatus>::Reader list);
  uint64_t rejected = 0;
  // A sample stamped before this (system ns) may predate our last step: its offset and its
  // time are on the old timescale, and an exchange across the step has a meaningless delay.
  // The first after the step is logged.
  int64_t stepFenceNs = 0;
  bool fenceLogged = true;
  bool beforeStep(int64_t stampNs);
  Peer refclockd, netd;
  // Every netd connection that attached and is still open gets the state: a second attach (a
  // netd restarting while the old one exits, or a stray client) never starves the other.
  struct NetdListener {
    uint64_t generation;
    ipc::StateListener::Client listener;
  };
  std::vector<NetdListener> netdListeners;
  Peer ntskd;
  struct NtskdListener {
    uint64_t generation;
    ipc::KeyListener::Client listener;
  };
  std::vector<NtskdListener> ntskdListeners;
  void pushKeys();
  void pushKeysTo(ipc::StateListener::Client& listener);
  void pushKeysTo(ipc::KeyListener::Client& listener);
  bool hadOwnState = false;                // synchronised at least once since we started
  double celsius = NAN;                    // the last temperature reading
  int64_t celsiusNs = 0, nextTemperatureNs = 0;
  kj::Maybe<kj::Promise<void>> slewTimer;
  kj::TaskSet tasks;
  log::RateLimited rejectLog{10};

  ServerHeader header(int64_t nowNs);
  void saveState(int64_t nowNs);
  // A temperature reading for the discipline; in holdover, the frequency it now predicts.
  void readTemperature(int64_t nowNs);
  // Selection at `localNs` (sources.h), the GPS alarm's changes logged.
  SourceId reselect(int64_t localNs, SourceId trigger);
  // Gives the discipline a sample (`knownNoise`: `error` is its own noise, an upstream's) and
  // applies the command; a phase slew ends by timer (endSlew).
  void follow(int64_t localNs, double offset, double error, bool knownNoise);
  void endSlew();
  void apply(const Command& c);
  void pushState();
  void reject(const kj::Exception& e, kj::StringPtr from);
  void taskFailed(kj::Exception&& e) override;
};

}  // namespace horloge::clockd
