// Source selection, for any kind of source (PPS refclock, NMEA-only refclock, upstream NTP
// server): Marzullo's intersection over the sources' error intervals marks falsetickers,
// the survivors close to the best one are combined, PPS preferred. Marks as in `chronyc
// sources` / `ntpq -p`: '*' selected, '+' combined, '-' outlier, 'x' falseticker, '?' unusable.
#pragma once
#include <cstdint>
#include <vector>

namespace horloge::clockd {

// What a source's samples are: PPS edges, the arrival of NMEA time sentences, NTP exchanges.
enum class SourceKind : uint8_t { PPS, NMEA, NTP };
// "pps", "nmea", "ntp": the words the status (SourceStatus.kind, ClockStatus.sourceKind) uses.
const char* kindName(SourceKind kind);

struct Candidate {
  SourceKind kind = SourceKind::PPS;
  bool usable = false;            // enough fresh samples
  double offset = 0;              // s, local minus this source
  double error = 0;               // s, half-width of its error interval (root distance)
  double jitter = 0;              // s, for the combination weights
  bool prefer = false;            // `server ... prefer`: chosen over the others that survive
  bool current = false;           // the one selected last time (see RESELECT_DISTANCE)
};

// Added to the error of every source but the current one when choosing, so that two sources
// of nearly equal quality do not take turns (chrony's `reselectdist`, same default).
constexpr double RESELECT_DISTANCE = 100e-6;

enum class Mark : char {
  SELECTED = '*', COMBINED = '+', OUTLIER = '-', FALSETICKER = 'x', UNUSABLE = '?'
};

struct Selection {
  std::vector<Mark> marks;        // one per candidate
  int selected = -1;              // index, or -1: nothing trustworthy
  double offset = 0;              // combined offset of the '*' and '+' sources
  double error = 0;               // its error
};

Selection select(const std::vector<Candidate>& sources);

}  // namespace horloge::clockd
