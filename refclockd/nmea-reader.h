// NMEA from a byte stream: framing, parsing, the receiver's fix figures for the status, and
// each time sentence handed on as (UTC second, arrival time). u-blox UBX frames interleaved
// with the sentences are split out first (ubx.h); NAV-TIMELS gives the receiver's leap second
// information. Feeding is separate from reading
// so that tests and the simulator can drive it with virtual time.
#pragma once
#include "nmea.h"
#include "ubx.h"
#include "ubx-request.h"
#include "ntp-time.h"
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>
#include <map>
#include <optional>
#include <vector>

namespace horloge::refclock {

struct NmeaFigures {
  uint64_t sentences = 0;
  uint64_t bad = 0;            // checksum and syntax errors, overlong lines, lines cut by noise
  int fixQuality = 0;
  int satellitesUsed = 0;
  int satellitesInView = 0;    // summed over the talkers' latest complete GSV cycles
  double hdop = -1, pdop = -1;
  std::optional<nmea::Position> position;
  struct Sat { std::string system; nmea::SatelliteInView sv; };
  std::vector<Sat> satellites;
  int64_t lastTimeNs = 0;      // arrival of the last time sentence
  int64_t lastUtcSecond = 0;   // the UTC second it named
  // UBX frames (checksum good, any class) and frames dropped (bad checksum, oversized length).
  uint64_t ubxFrames = 0, ubxBad = 0;
  std::optional<ubx::LeapReport> leap;   // the last NAV-TIMELS
  int64_t leapReceivedNs = 0;  // its arrival
};

class NmeaStream {
public:
  using OnTime = kj::Function<void(int64_t utcSecond, int64_t arrivalNs)>;
  explicit NmeaStream(OnTime onTime): onTime(kj::mv(onTime)) {}

  // Bytes read at system time `arrivalNs`.
  void feed(kj::ArrayPtr<const char> bytes, int64_t arrivalNs);
  const NmeaFigures& figures() const { return fig; }
  // The request for NAV-TIMELS on this stream's receiver: the driver starts it when it opens
  // the device and writes what poll() gives; the stream hands it the receiver's answers.
  ubx::TimeLsRequest& timeLsRequest() { return request; }
  const ubx::TimeLsRequest& timeLsRequest() const { return request; }
  // Fills the NMEA-derived fields of a status entry.
  void fillStatus(ipc::RefclockStatus::Builder out) const;

private:
  OnTime onTime;
  nmea::Framer framer;
  ubx::Framer ubxFramer;
  ubx::TimeLsRequest request;
  NmeaFigures fig;
  // GSV cycles in progress and complete, per talker.
  struct Cycle { int inView = 0; std::vector<nmea::SatelliteInView> sats; };
  std::map<std::string, Cycle> building, complete;

  void onSentence(std::string_view line, int64_t arrivalNs);
  void onGsv(const nmea::Sentence& s);
  void onUbx(const ubx::Frame& f, int64_t arrivalNs);
};

// Reads `in` into `stream` until the stream ends (DISCONNECTED) or fails.
kj::Promise<void> readNmea(kj::AsyncInputStream& in, NmeaStream& stream);

}  // namespace horloge::refclock
