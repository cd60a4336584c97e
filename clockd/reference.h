// What clockd claims about the time it serves (chrony's reference.c): the header netd puts in
// every reply, in each sync state, and the error it advertises. Pure: every input is a value or
// a const object; the hub gathers them.
//
// The header, from the state machine's (sync-state.h) on:
//   unsynchronised, or not disciplined yet   LI=3, stratum 16, refid INIT (as the state machine says)
//   locked or in holdover to a refclock      stratum 1, refid PPS or NMEA (what the samples were),
//                                            root dispersion ownError()
//   relay (an upstream followed)             the upstream's stratum + 1 and refid (its address),
//                                            its root delay, ownError() + its root dispersion;
//                                            LI=3 once that stratum reaches 16
//   GPS alarm, no upstream followed          LI=3, stratum 16 (no stratum 1 from a suspect GPS)
//   leap second announced                    LI=1 (insert) or 2 (delete) in the month before it
#pragma once
#include "discipline.h"
#include "leap-file.h"
#include "sources.h"
#include "sync-state.h"
#include "upstreams.h"
#include <kj/common.h>

namespace horloge::clockd {

// What the served time comes from: the source the discipline followed last.
struct Reference {
  SourceId source;                     // none before the first sample followed
  SourceKind kind = SourceKind::PPS;   // of the refclock followed last: PPS edges or NMEA time
  double claimedError = 0;             // s, that refclock's claim (NMEA: a bound on its bias)
  bool relay() const { return source.isUpstream(); }
};

// What the served clock may be off by at `reading` (the steered clock's reading, Clock::reading),
// apart from an upstream's root distance: the refclock's claim, the measured noise, and the
// discipline's errorBound().
double ownError(const Reference& ref, const Discipline& d, double reading);

// The offset still to slew out at `reading` beyond what the noise explains (the larger of
// `lockMaxOffset` and 3 sigma of the prediction); 0 once converged.
double unslewed(const Discipline& d, double reading, double lockMaxOffset);

struct HeaderInputs {
  ServerHeader base;                             // SyncStateMachine::header(nowNs)
  bool disciplined = false;                // synchronised and the discipline started
  Reference reference;
  double ownError = 0;                     // s, ownError() now
  LeapAction announce = LeapAction::NONE;  // LeapStatus::announce now
  kj::Maybe<RelayHeader> relay;            // relayHeader() of the upstream followed, if one is
  bool gpsAlarm = false;
};

// The header netd advertises (the table above).
ServerHeader advertisedHeader(const HeaderInputs& in);

// The served time's source kind as the status names it: "pps", "nmea" or "ntp" (a relay).
inline const char* servedKind(const Reference& ref) {
  return kindName(ref.relay() ? SourceKind::NTP : ref.kind);
}

// Whether netd should hear that we have nothing of our own to say yet (ServerState.starting):
// never synchronised since we started, unsynchronised now, and not because of a GPS alarm.
bool starting(bool hadOwnState, const ServerHeader& h, bool gpsAlarm);

}  // namespace horloge::clockd
