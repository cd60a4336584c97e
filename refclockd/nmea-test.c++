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
  CHECK(s.time->unixSeconds() == 1483228800);   // 2016-12-31 23:59:60 == 2017-01-01 00:00:00

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
  CHECK(parse(withChecksum("$GPGSV,1,1,00"), s) == Error::UNSUPPORTED);
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
}
