// Reads NMEA from a serial stream on the KJ loop, pairs time sentences with PPS edges, and
// keeps the receiver's fix figures for the status.
#pragma once
#include "nmea.h"
#include "pairing.h"
#include "ntp-time.h"
#include <kj/async-io.h>
#include <kj/function.h>

namespace horloge::refclock {

struct NmeaFigures {
  uint64_t sentences = 0;
  uint64_t bad = 0;            // checksum and syntax errors, and overlong lines
  int fixQuality = 0;
  int satellitesUsed = 0;
};

class NmeaReader {
public:
  NmeaReader(kj::Own<kj::AsyncInputStream> in, Pairing& pairing)
      : in(kj::mv(in)), pairing(pairing) {}

  // Reads until the stream fails or ends; each pairing goes to `onPaired`.
  kj::Promise<void> run(kj::Function<void(const Paired&)> onPaired);
  const NmeaFigures& figures() const { return fig; }

private:
  kj::Own<kj::AsyncInputStream> in;
  Pairing& pairing;
  nmea::Framer framer;
  NmeaFigures fig;
  kj::Function<void(const Paired&)> sink;
  char buf[256];

  kj::Promise<void> readMore();
  void onSentence(std::string_view line, int64_t arrivalNs);
};

}  // namespace horloge::refclock
