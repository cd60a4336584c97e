#include "nmea.h"
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace horloge::nmea;

static std::vector<std::string> frame(const std::string& bytes, Framer& f) {
  std::vector<std::string> out;
  for (char c: bytes)
    if (f.push(c)) out.emplace_back(f.sentence());
  return out;
}

TEST_CASE("nmea: checksum helper matches a known sentence") {
  CHECK(withChecksum("$GPZDA,201530.00,04,07,2002,00,00") == "$GPZDA,201530.00,04,07,2002,00,00*60");
}

TEST_CASE("nmea: RMC, ZDA and GGA") {
  Sentence s;
  REQUIRE(parse(withChecksum("$GNRMC,235960.00,A,4851.0,N,00221.0,E,0.0,0.0,311216,,,A"), s) ==
          Error::NONE);
  CHECK(s.talker == "GN");
  REQUIRE(s.time);
  CHECK(s.time->second == 60);   // a leap second reading
  // 2016-12-31 23:59:60 is 23:59:59 repeated (midnight - 1), as the kernel reads it.
  CHECK(s.time->unixSeconds() == 1483228799);

  REQUIRE(parse(withChecksum("$GPZDA,120000.00,21,11,2026,00,00"), s) == Error::NONE);
  REQUIRE(s.time);
  CHECK(s.time->unixSeconds() == 1795262400);

  REQUIRE(parse(withChecksum("$GPGGA,120000.00,4851.0,N,00221.0,E,1,09,0.9,35.0,M,47.0,M,,"), s) ==
          Error::NONE);
  CHECK(s.fixQuality == 1);
  CHECK(s.satellitesUsed == 9);

  // Void RMC: no time taken from it.
  REQUIRE(parse(withChecksum("$GPRMC,120000.00,V,,,,,,,211126,,,N"), s) == Error::NONE);
  CHECK_FALSE(s.time);
  CHECK(parse(withChecksum("$GPVTG,,T,,M,0.0,N,0.0,K,A"), s) == Error::UNSUPPORTED);
}

TEST_CASE("nmea: dates past 2036 and 2038") {
  // NTP era 1 begins 2036-02-07 and a 32-bit time_t ends 2038-01-19: neither is a limit here.
  Sentence s;
  REQUIRE(parse(withChecksum("$GNRMC,000000.00,A,4851.0,N,00221.0,E,0.0,0.0,010140,,,A"), s) ==
          Error::NONE);
  REQUIRE(s.time);
  CHECK(s.time->unixSeconds() == 2208988800);   // 2040-01-01 00:00:00 UTC
  REQUIRE(parse(withChecksum("$GPZDA,031408.00,19,01,2038,00,00"), s) == Error::NONE);
  REQUIRE(s.time);
  CHECK(s.time->unixSeconds() == int64_t(1) << 31);
  REQUIRE(parse(withChecksum("$GPZDA,062816.00,07,02,2036,00,00"), s) == Error::NONE);
  REQUIRE(s.time);
  CHECK(s.time->unixSeconds() + 2208988800 == int64_t(1) << 32);   // NTP second 2^32
}

TEST_CASE("nmea: bad sentences are refused, not trusted") {
  Sentence s;
  std::string good = withChecksum("$GPZDA,120000.00,21,11,2026,00,00");
  std::string bad = good;
  bad[10] = '1';
  CHECK(parse(bad, s) == Error::CHECKSUM);
  CHECK(parse("$GPZDA", s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPZDA,126000.00,21,11,2026,00,00"), s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPZDA,120000.00,31,02,2026,00,00"), s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPRMC,1200,A,,,,,,,211126,,,A"), s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPGGA,120000.00,,,,,x,09"), s) == Error::SYNTAX);
  CHECK(parse(good.substr(0, good.size() - 1), s) == Error::SYNTAX);
}

TEST_CASE("nmea: framing survives garbage, binary noise and overlong lines") {
  Framer f;
  std::string zda = withChecksum("$GPZDA,120000.00,21,11,2026,00,00");
  std::string noise = "\x01\xff\xb5\x62junk$GP";   // ends mid-sentence, as a cut cable does
  std::string longLine = "$" + std::string(500, 'A') + "\r\n";
  auto out = frame(noise + "\r\n" + zda + "\r\n" + longLine + zda + "\r\n" + "$GPZ\x00" + zda + "\n",
                   f);
  REQUIRE(out.size() == 4);   // "$GP" then three good ZDA
  CHECK(out[0] == "$GP");
  CHECK(out[1] == zda);
  CHECK(out[2] == zda);
  CHECK(out[3] == zda);
  CHECK(f.overlong() == 1);
  CHECK(f.torn() == 0);
  frame("$GPRMC,1234\xb5\x62,A\r\n", f);   // a line cut by binary noise (a wrong baud rate)
  CHECK(f.torn() == 1);
}

TEST_CASE("nmea: 29 February only in a leap year (found by nmea-fuzz)") {
  Sentence s;
  CHECK(parse(withChecksum("$GPZDA,120000,29,02,2023,00,00"), s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPRMC,120000,A,,,,,,,290223,,,A"), s) == Error::SYNTAX);
  CHECK(parse(withChecksum("$GPZDA,120000,29,02,2100,00,00"), s) == Error::SYNTAX);
  REQUIRE(parse(withChecksum("$GPZDA,120000,29,02,2024,00,00"), s) == Error::NONE);
  CHECK(s.time->unixSeconds() == 1709208000);   // 2024-02-29T12:00:00Z
  REQUIRE(parse(withChecksum("$GPRMC,120000,A,,,,,,,290200,,,A"), s) == Error::NONE);
  CHECK(s.time->unixSeconds() == 951825600);    // 2000-02-29T12:00:00Z
}

TEST_CASE("nmea: GSA, GSV and GNS from any talker; position and DOPs") {
  Sentence s;
  REQUIRE(parse(withChecksum("$GNGSA,A,3,02,05,12,15,18,24,25,29,,,,,1.6,0.9,1.3,1"), s) ==
          Error::NONE);
  CHECK(s.fixMode == 3);
  CHECK(s.satellitesUsed == 8);
  CHECK(s.pdop == doctest::Approx(1.6));
  CHECK(s.hdop == doctest::Approx(0.9));
  REQUIRE(parse(withChecksum("$GAGSV,2,2,06,18,25,190,35,24,05,020,"), s) == Error::NONE);
  CHECK(s.talker == "GA");
  CHECK(s.gsvIndex == 2);
  CHECK(s.inView == 6);
  REQUIRE(s.satCount == 2);
  CHECK(s.sats[0].snr == 35);
  CHECK(s.sats[1].snr == -1);   // in view, not tracked
  CHECK(parse(withChecksum("$GBGSV,2,1,04"), s) == Error::NONE);
  CHECK(parse(withChecksum("$GQGSV,3,4,04"), s) == Error::SYNTAX);
  REQUIRE(parse(withChecksum("$GNGNS,120000.00,4851.0000,N,00221.0000,W,AN,09,0.9,35.0,47.0,,"),
                s) == Error::NONE);
  CHECK(s.fixQuality == 1);
  REQUIRE(s.position);
  CHECK(s.position->latitude == doctest::Approx(48.85));
  CHECK(s.position->longitude == doctest::Approx(-2.35));
  CHECK(*s.position->altitude == doctest::Approx(35.0));
  CHECK(parse(withChecksum("$GNGNS,120000.00,,,,,NN,00,,,,,"), s) == Error::NONE);
  CHECK_FALSE(s.valid);
  CHECK(parse(withChecksum("$GNGNS,120000.00,,,,,XX,00,,,,,"), s) == Error::SYNTAX);
  REQUIRE(parse(withChecksum("$GLGGA,120000.00,4851.0,S,00221.0,E,2,12,1.1,35.0,M,47.0,M,,"), s) ==
          Error::NONE);
  CHECK(s.hdop == doctest::Approx(1.1));
  CHECK(s.position->latitude == doctest::Approx(-48.85));
  CHECK(parse(withChecksum("$GPGGA,120000.00,9951.0,N,00221.0,E,1,12,1.1,35.0,M,47.0,M,,"), s) ==
        Error::SYNTAX);
}

TEST_CASE("nmea: 23:59:59, 23:59:60, 00:00:00 number the leap second as the kernel does") {
  Sentence s;
  auto unix = [&](std::string_view body) {
    REQUIRE(parse(withChecksum(body), s) == Error::NONE);
    REQUIRE(s.time);
    return s.time->unixSeconds();
  };
  constexpr int64_t MIDNIGHT = 1483228800;   // 2017-01-01T00:00:00Z
  CHECK(unix("$GPZDA,235959.00,31,12,2016,00,00") == MIDNIGHT - 1);
  CHECK(unix("$GPZDA,235960.00,31,12,2016,00,00") == MIDNIGHT - 1);   // repeated, not midnight
  CHECK(unix("$GPZDA,000000.00,01,01,2017,00,00") == MIDNIGHT);
  // Also at the end of June (2015-06-30 23:59:60).
  CHECK(unix("$GNRMC,235960.00,A,4851.0,N,00221.0,E,0.0,0.0,300615,,,A") == 1435708799);
}
