#include "receiver.h"
#include "ntp-time.h"
#include <cmath>
#include <kj/io.h>

namespace horloge::refclock {

NmeaTiming nmeaTiming(int64_t configuredNs, int64_t measuredNs, uint64_t measured) {
  if (configuredNs != 0) return {configuredNs, NMEA_KNOWN_DELAY_ERROR_NS};
  if (measured >= CALIBRATION_PAIRS) return {measuredNs, NMEA_KNOWN_DELAY_ERROR_NS};
  return {0, NMEA_UNKNOWN_DELAY_ERROR_NS};
}

void noNmeaFigures(ipc::RefclockStatus::Builder out) {
  out.setHdop(NAN);
  out.setPdop(NAN);
  out.setLatitude(NAN);
  out.setLongitude(NAN);
  out.setAltitude(NAN);
}

void Receiver::onEdge(int64_t edgeNs, int64_t nowNs) {
  lastEdgeNs = nowNs;
  KJ_IF_MAYBE(p, pairing.onEdge(edgeNs, hint, nowNs)) onSample(*p, nowNs);
}

void Receiver::onTime(int64_t utcSecond, int64_t arrivalNs) {
  lastTimeNs = arrivalNs;
  KJ_IF_MAYBE(p, pairing.onTime(utcSecond, arrivalNs)) onSample(*p, arrivalNs);
}

void Receiver::onSample(const Paired& p, int64_t nowNs) {
  if (!integrity.check(p, hint, nowNs)) return;   // flagged in the status, not fed
  ++count;
  lastSampleNs = nowNs;
  sink(p);
}

void Receiver::fillStatus(ipc::RefclockStatus::Builder out, int64_t nowNs, bool expectPps,
                          bool expectNmea, kj::StringPtr fault) const {
  out.setLocked(lastSampleNs != 0 && nowNs - lastSampleNs < SILENCE_NS);
  out.setSamples(count);
  out.setNmeaDelayNs(pairing.lastDelayNs());
  out.setNmeaDelayMeanNs(pairing.meanDelayNs());
  out.setPpsEdges(pairing.edges());
  out.setPpsOnlySamples(pairing.ppsOnly());
  out.setRefusedPairings(pairing.refused());
  out.setAnomaly(integrity.anomaly());
  out.setAnomalies(integrity.anomalies());
  out.setLastGoodNs(integrity.lastGoodNs());
  kj::String why;
  if (fault != nullptr && fault.size() > 0) why = kj::str(fault);
  else if (expectPps && nowNs - lastEdgeNs > SILENCE_NS) why = kj::str("no PPS");
  else if (expectNmea && nowNs - lastTimeNs > SILENCE_NS) why = kj::str("no NMEA time");
  else if (expectPps && expectNmea && pairing.ambiguous())
    why = kj::str("NMEA delay near the half-second: pairing refused");
  else if (integrity.anomaly().size() > 0) why = kj::str("GNSS integrity: ", integrity.anomaly());
  out.setFault(why);
}

}  // namespace horloge::refclock
