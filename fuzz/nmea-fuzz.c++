// libFuzzer target for refclockd's NMEA framing and parsing (refclockd/nmea.h).
// Feeds arbitrary bytes through a Framer and parses every framed line (and the whole input as
// one line). Asserts: framed lines are '$' + printable ASCII within MAX_LINE; an accepted
// sentence has a 2-letter talker and 3-letter type and its checksum recomputes; GGA, GNS, GSA
// and GSV figures (fix quality and mode, satellites, DOPs, GSV counts and each satellite's
// PRN/elevation/azimuth/SNR, position) are within their ranges; an accepted time is a real UTC date-time in the plausible range that survives a round trip through
// unixSeconds(); a good sentence after any garbage is framed and parsed (resync).
#include "nmea.h"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace horloge::nmea;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "nmea-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

// Civil date from days since 1970-01-01, written independently of nmea.c++.
void civil(int64_t days, int& y, int& m, int& d) {
  y = 1970;
  auto leap = [](int yr) { return (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0; };
  while (days >= (leap(y) ? 366 : 365)) days -= leap(y++) ? 366 : 365;
  static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  m = 1;
  while (true) {
    int n = md[m - 1] + (m == 2 && leap(y));
    if (days < n) break;
    days -= n;
    ++m;
  }
  d = static_cast<int>(days) + 1;
}

// A DOP: -1 when absent, else 0..99.99.
bool dopOk(double v) { return v == -1 || (v >= 0 && v <= 99.99); }

// The receiver figures of GGA, GNS, GSA and GSV, whatever sentence carried them: in range, and
// only set by the sentences that carry them.
void checkFigures(const Sentence& s) {
  CHECK(dopOk(s.hdop) && dopOk(s.pdop));
  if (s.type != "GSA") CHECK(s.pdop == -1 && s.fixMode == -1);
  if (s.type != "GSV") CHECK(s.gsvCount == 0 && s.gsvIndex == 0 && s.inView == -1 && s.satCount == 0);
  if (s.position) {
    CHECK(s.type == "RMC" || s.type == "GGA" || s.type == "GNS");
    CHECK(s.position->latitude >= -90 && s.position->latitude <= 90);
    CHECK(s.position->longitude >= -180 && s.position->longitude <= 180);
    if (s.position->altitude) CHECK(*s.position->altitude >= -1000 && *s.position->altitude <= 100000);
  }
  if (s.type == "GNS") {
    // The per-constellation mode letters map to GGA qualities 0 (N), 1, 2, 4 (RTK), 5 (float).
    CHECK(s.fixQuality == 0 || s.fixQuality == 1 || s.fixQuality == 2 || s.fixQuality == 4 ||
          s.fixQuality == 5);
    CHECK(s.satellitesUsed >= -1 && s.satellitesUsed <= 99);
    CHECK(s.valid == (s.fixQuality > 0));
    if (!s.valid) CHECK(!s.position);
  }
  if (s.type == "GSA") {
    CHECK(s.fixMode >= 1 && s.fixMode <= 3);
    CHECK(s.satellitesUsed >= 0 && s.satellitesUsed <= 12);   // 12 PRN fields
    CHECK(s.valid == (s.fixMode >= 2));
    CHECK(!s.position && s.fixQuality == -1);
  }
  if (s.type == "GSV") {
    CHECK(s.gsvCount >= 1 && s.gsvCount <= 9);
    CHECK(s.gsvIndex >= 1 && s.gsvIndex <= s.gsvCount);
    CHECK(s.inView >= 0 && s.inView <= 99);
    CHECK(s.satCount >= 0 && s.satCount <= 4);
    for (int i = 0; i < s.satCount; ++i) {
      const SatelliteInView& v = s.sats[i];
      CHECK(v.prn >= 1 && v.prn <= 999);             // empty PRNs are not counted
      CHECK(v.elevation >= -90 && v.elevation <= 90);
      CHECK(v.azimuth >= -1 && v.azimuth <= 359);
      CHECK(v.snr >= -1 && v.snr <= 99);
    }
    CHECK(!s.position && s.satellitesUsed == -1 && s.hdop == -1);
  }
}

void checkAccepted(std::string_view line, const Sentence& s) {
  CHECK(s.talker.size() == 2 && s.type.size() == 3);
  size_t star = line.rfind('*');
  CHECK(star != std::string_view::npos && star + 3 == line.size());
  std::string again = withChecksum(line.substr(0, star));
  CHECK(again.size() == line.size());
  for (size_t i = 0; i < line.size(); ++i)
    CHECK(toupper(static_cast<unsigned char>(again[i])) == toupper(static_cast<unsigned char>(line[i])));
  if (s.type == "GGA") {
    CHECK(s.fixQuality >= 0 && s.fixQuality <= 9);
    CHECK(s.satellitesUsed >= -1 && s.satellitesUsed <= 99);
    CHECK(s.valid == (s.fixQuality > 0));
  }
  checkFigures(s);
  if (!s.time) return;
  CHECK(s.type == "RMC" || s.type == "ZDA");
  const Time& t = *s.time;
  CHECK(t.year >= 1980 && t.year <= 2200);
  CHECK(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31);
  CHECK(t.hour >= 0 && t.hour < 24 && t.minute >= 0 && t.minute < 60);
  CHECK(t.second >= 0 && t.second <= 60);
  int64_t u = t.unixSeconds();
  CHECK(u >= 315532800 && u < 7289654400);   // 1980-01-01 .. 2201-01-01
  // Round trip: the date-time unixSeconds() names is the one parsed (no 31 April, no
  // 29 February in a common year). A leap second 60 is numbered as 59 repeated.
  int64_t sod = t.hour * 3600 + t.minute * 60 + (t.second == 60 ? 59 : t.second);
  int64_t days = (u - sod) / 86400;
  CHECK((u - sod) % 86400 == 0);
  int y, m, d;
  civil(days, y, m, d);
  if (y != t.year || m != t.month || d != t.day) {
    fprintf(stderr, "nmea-fuzz: %04d-%02d-%02d is really %04d-%02d-%02d\n", t.year, t.month,
            t.day, y, m, d);
    fail("date round trip");
  }
}

void parseOne(std::string_view line) {
  Sentence s;
  Error e = parse(line, s);
  CHECK(e == Error::NONE || e == Error::SYNTAX || e == Error::CHECKSUM || e == Error::UNSUPPORTED);
  if (e == Error::NONE) checkAccepted(line, s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exact-size heap copy so that ASan catches reads past the end of the line.
  std::string whole(reinterpret_cast<const char*>(data), size);
  parseOne(whole);

  Framer framer;
  uint64_t lastOverlong = 0;
  for (size_t i = 0; i < size; ++i) {
    if (framer.push(static_cast<char>(data[i]))) {
      std::string_view line = framer.sentence();
      CHECK(line.size() >= 2 && line.size() <= Framer::MAX_LINE && line[0] == '$');
      for (char c : line) CHECK(c >= 0x20 && c <= 0x7e);
      std::string copy(line);
      parseOne(copy);
    }
    CHECK(framer.overlong() >= lastOverlong);
    lastOverlong = framer.overlong();
  }

  // Resync: whatever came before, one good sentence is framed and parsed.
  const std::string good = withChecksum("$GPZDA,123456.00,29,02,2024,00,00") + "\r\n";
  bool framed = false;
  for (char c : good) {
    if (framer.push(c)) {
      CHECK(!framed);
      framed = true;
      CHECK(framer.sentence() == std::string_view(good).substr(0, good.size() - 2));
    }
  }
  CHECK(framed);
  Sentence s;
  CHECK(parse(framer.sentence(), s) == Error::NONE && s.time && s.time->day == 29);
  return 0;
}
