#include "leap-file.h"
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

using namespace horloge::clockd;

namespace {

constexpr int64_t LEAP_2017 = 3692217600LL - 2208988800LL;   // 2017-01-01T00:00:00Z

}  // namespace

TEST_CASE("leap file: the system's tzdata copy parses and its hash matches") {
  std::ifstream f("/usr/share/zoneinfo/leap-seconds.list");
  if (!f) return;   // tzdata absent: nothing to check
  std::stringstream ss;
  ss << f.rdbuf();
  LeapTable t = parseLeapFile(ss.str());
  CHECK(t.entries.size() >= 28);
  CHECK(t.entries.back().taiMinusUtc == 37);
}

TEST_CASE("leap file: tampered and hashless files are refused") {
  std::ifstream f("/usr/share/zoneinfo/leap-seconds.list");
  if (!f) return;
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  auto at = text.find("\n3692217600");   // move the 2017 leap by one second
  REQUIRE(at != std::string::npos);
  std::string tampered = text;
  tampered.replace(at, 11, "\n3692217601");
  CHECK_THROWS_WITH_AS(parseLeapFile(tampered), doctest::Contains("hash mismatch"),
                       std::runtime_error);
  std::string noHash = text.substr(0, text.find("#h"));
  CHECK_THROWS_WITH_AS(parseLeapFile(noHash), doctest::Contains("no hash"), std::runtime_error);
}

TEST_CASE("leap file: expiry, announcement window and the kernel's last day") {
  // The real 2017 leap (31 December 2016), with the file expiring in June 2017.
  LeapTable t;
  t.entries = {{2272060800LL - 2208988800LL, 10}, {3644697600LL - 2208988800LL, 36},
               {LEAP_2017, 37}};
  t.expiresUnix = 3707596800LL - 2208988800LL;
  LeapStatus before = leapStatus(t, LEAP_2017 - 40 * 86400);   // 22 November: too early
  CHECK(before.announce == LeapAction::NONE);
  LeapStatus month = leapStatus(t, LEAP_2017 - 20 * 86400);    // 12 December: announce
  CHECK(month.announce == LeapAction::INSERT);
  CHECK(month.kernel == LeapAction::NONE);
  LeapStatus lastDay = leapStatus(t, LEAP_2017 - 3600);        // 31 December 23:00
  CHECK(lastDay.kernel == LeapAction::INSERT);
  CHECK(lastDay.at == LEAP_2017);
  LeapStatus after = leapStatus(t, LEAP_2017 + 1);
  CHECK(after.announce == LeapAction::NONE);
  CHECK_FALSE(after.expired);
  CHECK(leapStatus(t, t.expiresUnix + 1).expired);
}

TEST_CASE("leap file: syntax errors name the line") {
  CHECK_THROWS_WITH_AS(parseLeapFile("#@\t3707596800\n22720608x0\t10\n"),
                       doctest::Contains("line 2"), std::runtime_error);
  CHECK_THROWS_WITH_AS(parseLeapFile("2272060800\t10\n"), doctest::Contains("no expiry"),
                       std::runtime_error);
}
