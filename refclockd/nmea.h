// NMEA 0183 from a byte stream: framing that survives garbage and overlong lines, checksum
// verification, and the fields horloge needs from time and fix sentences.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace horloge::nmea {

// Splits a byte stream into candidate sentences ("$...*HH" without CR/LF). Bytes outside a
// sentence are skipped; a line longer than MAX_LINE is dropped whole and counted.
class Framer {
public:
  static constexpr size_t MAX_LINE = 120;   // NMEA says 82; receivers stretch it a little

  // Feeds one byte; returns true when `sentence()` holds a complete line.
  bool push(char c);
  std::string_view sentence() const { return {buf, len}; }
  uint64_t overlong() const { return dropped; }

private:
  char buf[MAX_LINE];
  size_t len = 0;
  bool inside = false, tooLong = false;
  uint64_t dropped = 0;
};

struct Time {
  int year, month, day, hour, minute, second;   // UTC; second may be 60 in a leap second
  int64_t unixSeconds() const;
};

struct Sentence {
  std::string talker;    // "GP", "GN", ...
  std::string type;      // "RMC", "GGA", "ZDA", ...
  std::optional<Time> time;        // RMC (when status A) and ZDA carry a full date
  int fixQuality = -1;             // GGA
  int satellitesUsed = -1;         // GGA
  bool valid = true;               // RMC status A / GGA quality > 0
};

enum class Error { NONE, SYNTAX, CHECKSUM, UNSUPPORTED };
// Parses one framed sentence. UNSUPPORTED is a well-formed sentence we do not use.
Error parse(std::string_view line, Sentence& out);

// Appends "*HH" to a sentence body starting with '$'.
std::string withChecksum(std::string_view body);

}  // namespace horloge::nmea
