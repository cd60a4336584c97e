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
