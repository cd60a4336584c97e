// NMEA 0183 from a byte stream: framing that survives garbage and overlong lines, checksum
// verification, and the fields horloge needs from time and fix sentences.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace horloge::nmea {

// Splits a byte stream into candidate sentences ("$...*HH" without CR/LF). Bytes outside a
// sentence are skipped; a line longer than MAX_LINE is dropped whole and counted, and so is a
// line cut by binary noise (a receiver at another baud rate sends little else).
class Framer {
public:
  static constexpr size_t MAX_LINE = 120;   // NMEA says 82; receivers stretch it a little

  // Feeds one byte; returns true when `sentence()` holds a complete line.
  bool push(char c);
  std::string_view sentence() const { return {buf, len}; }
  uint64_t overlong() const { return dropped; }
  uint64_t torn() const { return cut; }

private:
  char buf[MAX_LINE];
  size_t len = 0;
  bool inside = false, tooLong = false;
  uint64_t dropped = 0, cut = 0;
};

struct Time {
  int year, month, day, hour, minute, second;   // UTC; second may be 60 in a leap second
  int64_t unixSeconds() const;
};

struct Position {
  double latitude, longitude;      // degrees, north and east positive
  std::optional<double> altitude;  // metres above mean sea level (GGA, GNS)
};

struct SatelliteInView {           // one GSV entry
  int prn, elevation, azimuth;     // -1 when the receiver left the field empty
  int snr;                         // dB-Hz; -1 when not tracked
};

struct Sentence {
  std::string talker;    // "GP", "GN", "GL", "GA", "GB", "GQ", ...
  std::string type;      // "RMC", "GGA", "ZDA", "GSA", "GSV", "GNS"
  std::optional<Time> time;        // RMC (when status A) and ZDA carry a full date
  int fixQuality = -1;             // GGA quality; GNS mode mapped to it; GSA 1/2/3 is fixMode
  int satellitesUsed = -1;         // GGA, GNS; GSA: the PRNs listed
  bool valid = true;               // RMC status A / GGA quality > 0 / GSA fix 2D or 3D
  std::optional<Position> position;   // RMC, GGA, GNS with a fix
  double hdop = -1, pdop = -1;     // GGA/GNS (hdop), GSA (both); -1 when absent
  int fixMode = -1;                // GSA: 1 no fix, 2 2D, 3 3D
  // GSV: message `gsvIndex` of `gsvCount`, `inView` satellites in all, up to 4 of them here.
  int gsvCount = 0, gsvIndex = 0, inView = -1;
  SatelliteInView sats[4];
  int satCount = 0;
};

enum class Error { NONE, SYNTAX, CHECKSUM, UNSUPPORTED };
// Parses one framed sentence. UNSUPPORTED is a well-formed sentence we do not use.
Error parse(std::string_view line, Sentence& out);

// Appends "*HH" to a sentence body starting with '$'.
std::string withChecksum(std::string_view body);

}  // namespace horloge::nmea
