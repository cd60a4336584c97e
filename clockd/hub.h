// clockd's centre: takes validated samples and peer reports, runs the state machine, pushes
// the server state to netd, and answers status reads. The RPC objects for each role's socket
// are made here; each peer can reach only the methods of its own role.
#pragma once
#include "clock.h"
#include "discipline.h"
#include "leap-file.h"
#include "log.h"
#include "nts-keys.h"
#include "persist.h"
#include "relay.h"
#include "selection.h"
#include "source-filter.h"
#include "sync-state.h"
#include "upstreams.h"
#include <horloge.capnp.h>
#include <capnp/message.h>
#include <kj/async.h>
#include <kj/timer.h>
#include <array>
#include <optional>
#include <vector>

namespace horloge::clockd {

// Everything clockd's main() read or decided before serving.
struct HubOptions {
  SyncParams sync;
  DisciplineParams discipline;
  std::optional<Drift> drift;             // from the drift file
  std::string driftfile;                  // "": do not write one
  std::string statePath;                  // statedir/clockd.state
  std::string bootId;
  int updatesDone = 0;                    // makestep updates already made in this boot
  std::optional<LeapTable> leap;
  std::string leapPath;                   // the file `leap` came from
  std::string leapAlarm;                  // why there is no usable leap table, or ""
  std::vector<uint32_t> ownRefids;        // our addresses as refids: loop detection (issue 8)
  NtsKeyStore* ntsKeys = nullptr;         // NTS on: the server keys (not owned), else null
};

class Hub: private kj::TaskSet::ErrorHandler {
public:
  Hub(kj::Timer& timer, kj::Own<Clock> clock, SyncParams params, int64_t startedNs);
  Hub(kj::Timer& timer, kj::Own<Clock> clock, HubOptions options, int64_t startedNs);

  // Fresh bootstrap capabilities, one per accepted connection.
  ipc::RefclockFeed::Client newRefclockFeed();
  ipc::NetdFeed::Client newNetdFeed();
  ipc::StatusReader::Client newStatusReader();
  ipc::NtskeFeed::Client newNtskeFeed();

  // Ticks the state machine and pushes the state to netd once a second. Never resolves.
  kj::Promise<void> run();

  void fillStatus(ipc::SystemStatus::Builder out);

  // A peer role's record. Connections are numbered when they attach (netd) or say hello
  // (refclockd), never when accepted: one that never did changes nothing when it closes, and
  // only the current one (the last to attach) can take the peer down.
  struct Peer {
    uint64_t issued = 0;           // numbers given out so far
    uint64_t generation = 0;       // the current connection's number; 0: none
    bool connected = false;
    int64_t lastSeenNs = 0;
    kj::Own<capnp::MallocMessageBuilder> info;   // root: DaemonInfo
    kj::Own<capnp::MallocMessageBuilder> body;   // root: SystemStatus, only the peer's field set
  };

private:
  friend class RefclockFeedImpl;
  friend class NetdFeedImpl;
  friend class NtskeFeedImpl;

  kj::Timer& timer;
  kj::Own<Clock> clock;
  SyncStateMachine sync;
  int64_t startedNs;
  std::array<SourceFilter, 8> filters;
  std::array<double, 8> claimedError{};
  std::array<SourceKind, 8> kinds{};      // PPS edges or NMEA time, as each source's samples say
  SourceKind refclockKind = SourceKind::PPS;   // of the refclock the discipline last followed
  double sourceError = 0;                 // its claimed error (NMEA: a bound on its bias)
  std::vector<Mark> marks = std::vector<Mark>(8, Mark::UNUSABLE);
  int selected = -1;
  HubOptions options;
  Discipline discipline;
  uint64_t foreign = 0;
  int64_t lastSaveNs = 0;
  LeapStatus leap;

  Header header(int64_t nowNs);
  // What the served clock may be off by at `nowNs`, apart from an upstream's root distance: the
  // source's claim, the measured noise, and the discipline's errorBound().
  double ownError(int64_t nowNs);
  // The offset still to slew out beyond what the noise explains; 0 once converged.
  double unslewed(int64_t nowNs);
  kj::String leapExpired() const;          // the alarm once options.leap has expired
  void saveState(int64_t nowNs);
  uint64_t rejected = 0;
  Peer refclockd, netd;
  // Every netd connection that attached and is still open gets the state: a second attach (a
  // netd restarting while the old one exits, or a stray client) never starves the other.
  struct NetdListener {
    uint64_t generation;
    ipc::StateListener::Client listener;
  };
  std::vector<NetdListener> netdListeners;
  void netdDetached(uint64_t generation);
  // NTS: ntskd's record and listeners, as netd's; the keys go to both at attach and rotation.
  Peer ntskd;
  struct NtskdListener {
    uint64_t generation;
    ipc::KeyListener::Client listener;
  };
  std::vector<NtskdListener> ntskdListeners;
  void ntskdDetached(uint64_t generation);
  void pushKeys();
  void pushKeysTo(ipc::StateListener::Client& netdListener);
  void pushKeysTo(ipc::KeyListener::Client& ntskdListener);
  bool hadOwnState = false;                // synchronised at least once since we started
  kj::TaskSet tasks;
  log::RateLimited rejectLog{10};

  void onSample(ipc::RefSample::Reader s);
  // Issue 8: upstream servers, selection over every source, the GPS cross-check.
  std::array<UpstreamSource, 16> upstreams;
  int followed = -1;                       // upstream selected last (stratum, refid), or -1
  int lastChosen = -1;                     // reselect()'s previous answer, for its stickiness
  GpsAlarm gpsAlarm;
  std::vector<Mark> upstreamMarks;
  void onUpstream(ipc::UpstreamSample::Reader s);
  // Runs selection over refclocks and upstreams at `localNs`; returns the chosen refclock
  // (0..7), 100 + k for upstream k, or -1.
  int reselect(int64_t localNs, int trigger);
  // Gives the discipline a sample (`knownNoise`: `error` is its own noise, an upstream's) and
  // applies the command; a phase slew ends by timer (endSlew).
  void follow(int64_t localNs, double offset, double error, bool knownNoise);
  void endSlew();
  kj::Maybe<kj::Promise<void>> slewTimer;
  void pushState();
  void reject(const kj::Exception& e, kj::StringPtr from);

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
  void taskFailed(kj::Exception&& e) override;
};

}  // namespace horloge::clockd
