#include "reference.h"
#include "ntp-time.h"
#include <algorithm>
#include <cmath>

namespace horloge::clockd {

double ownError(const Reference& ref, const Discipline& d, double reading) {
  return (ref.relay() ? 0 : ref.claimedError) + d.estimate().jitter + d.errorBound(reading);
}

double unslewed(const Discipline& d, double reading, double lockMaxOffset) {
  double age = std::max(0.0, reading - d.lastUpdate());
  double left = d.offsetLeft(reading);
  return left <= std::max(lockMaxOffset, 3 * d.predictedSigma(age)) ? 0 : left;
}

ServerHeader advertisedHeader(const HeaderInputs& in) {
  ServerHeader h = in.base;
  if (!in.disciplined) return h;
  h.refid = refidFromText(in.reference.kind == SourceKind::PPS ? "PPS\0" : "NMEA");
  h.rootDispersion = ntp::shortFromSeconds(in.ownError);
  if (in.announce == LeapAction::INSERT) h.leap = 1;
  if (in.announce == LeapAction::DELETE) h.leap = 2;
  KJ_IF_MAYBE(r, in.relay) {
    // A relay: stratum and refid of the upstream followed, its root distance added to ours.
    h.stratum = r->stratum;
    h.refid = r->refid;
    h.rootDelay = ntp::shortFromSeconds(r->rootDelay);
    h.rootDispersion =
        ntp::shortFromSeconds(ntp::secondsFromShort(h.rootDispersion) + r->rootDispersion);
    if (h.stratum >= 16) h.leap = 3;
  } else if (in.gpsAlarm) {
    // The GPS is suspected: no stratum 1 from it until the peers agree again.
    h.leap = 3;
    h.stratum = 16;
  }
  return h;
}

bool starting(bool hadOwnState, const ServerHeader& h, bool gpsAlarm) {
  return !hadOwnState && h.leap == 3 && !gpsAlarm;
}

}  // namespace horloge::clockd
