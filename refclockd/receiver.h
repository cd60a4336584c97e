// The part every GPS driver shares once it has PPS edges and/or NMEA seconds: pairing, the
// GNSS integrity gate, the sample counters, and the health fields of the status. Drivers call
// it with system times; it calls the sink only with samples that passed every check.
#pragma once
#include "integrity.h"
#include "pairing.h"
#include <horloge.capnp.h>
#include <kj/function.h>
#include <string>

namespace horloge::refclock {

// An NMEA-time sample (no PPS edge) is the arrival of the second's first time sentence, which
// follows its second by the receiver's output delay (u-blox: ~150 ms). The delay is known when
// `offset` gives it or when PPS edges measured it in this run (at least CALIBRATION_PAIRS of
// them); the sample then claims NMEA_KNOWN_DELAY_ERROR_NS. Unknown, it may be anything up to
// the 0.9 s a sentence may follow its edge, and the sample claims that: never less than the truth.
constexpr int64_t NMEA_KNOWN_DELAY_ERROR_NS = 100'000'000;
constexpr int64_t NMEA_UNKNOWN_DELAY_ERROR_NS = Pairing::MAX_DELAY_NS;
constexpr uint64_t CALIBRATION_PAIRS = 16;

struct NmeaTiming {
  int64_t delayNs;            // added to the named second: the reference time of the arrival
  int64_t errorNs;            // what the sample claims
};
// `configuredNs`: the `offset` written (0: none); `measuredNs` over `measured` pairings.
NmeaTiming nmeaTiming(int64_t configuredNs, int64_t measuredNs, uint64_t measured);

// For a driver that reads no NMEA (PPS, SHM, SOCK): its DOP and position are unknown (NaN), not 0.
void noNmeaFigures(ipc::RefclockStatus::Builder out);

class Receiver {
public:
  using Sink = kj::Function<void(const Paired&)>;
  static constexpr int64_t SILENCE_NS = 2'500'000'000;   // no PPS / no NMEA after this

  // `hint` is read on each edge and check (it is updated by the daemon as clockd answers).
  Receiver(int64_t offsetNs, const ClockHint& hint, int64_t buildNs, LastGoodStore* store,
           Sink sink)
      : pairing(offsetNs), hint(hint), integrity(buildNs, store), sink(kj::mv(sink)) {}

  void onEdge(int64_t edgeNs, int64_t nowNs);
  void onTime(int64_t utcSecond, int64_t arrivalNs);
  // A sample that needs no pairing (NMEA alone, gpsd's SHM or SOCK): integrity, then sink.
  void onSample(const Paired& p, int64_t nowNs);

  // Fills locked, samples, delays, pairing counters, anomaly and fault (the latter from
  // `fault`, a driver problem such as a missing device, or else what the receiver lacks).
  // `expectPps`/`expectNmea`: whether this driver has each input at all.
  void fillStatus(ipc::RefclockStatus::Builder out, int64_t nowNs, bool expectPps,
                  bool expectNmea, kj::StringPtr fault = nullptr) const;

  uint64_t samples() const { return count; }
  const Integrity& gate() const { return integrity; }
  const Pairing& pairs() const { return pairing; }

private:
  Pairing pairing;
  const ClockHint& hint;
  Integrity integrity;
  Sink sink;
  uint64_t count = 0;
  int64_t lastSampleNs = 0, lastEdgeNs = 0, lastTimeNs = 0;
};

}  // namespace horloge::refclock
