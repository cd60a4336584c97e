#include "leap-file.h"
#include <doctest/doctest.h>
#include <kj/exception.h>
#include <openssl/sha.h>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

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
                       kj::Exception);
  std::string noHash = text.substr(0, text.find("#h"));
  CHECK_THROWS_WITH_AS(parseLeapFile(noHash), doctest::Contains("no hash"), kj::Exception);
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
                       doctest::Contains("line 2"), kj::Exception);
  CHECK_THROWS_WITH_AS(parseLeapFile("2272060800\t10\n"), doctest::Contains("no expiry"),
                       kj::Exception);
}

namespace {

std::string readText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The shipped file with its expiry moved to `expiresUnix` and its hash made again: valid.
std::string withExpiry(const std::string& text, int64_t expiresUnix) {
  std::istringstream in(text);
  std::string line, out, numbers;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string a, b;
    words >> a >> b;
    if (a == "#@") line = "#@\t" + std::to_string(expiresUnix + 2'208'988'800LL), b = line.substr(3);
    if (a == "#h") continue;
    if (a == "#$" || a == "#@") numbers += b;
    else if (!a.empty() && a[0] != '#') numbers += a + b;
    out += line + "\n";
  }
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(numbers.data()), numbers.size(), md);
  char hash[64];
  snprintf(hash, sizeof(hash), "#h\t%02x%02x%02x%02x %02x%02x%02x%02x %02x%02x%02x%02x "
           "%02x%02x%02x%02x %02x%02x%02x%02x\n", md[0], md[1], md[2], md[3], md[4], md[5], md[6],
           md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15], md[16], md[17],
           md[18], md[19]);
  return out + hash;
}

std::string writeTemp(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr int64_t JUNE_2027 = 4023129600LL - 2208988800LL;   // 2027-06-28, Bulletin C 72

}  // namespace

TEST_CASE("leap file: the shipped copy is valid and as fresh as IERS Bulletin C 72") {
  LeapTable t = parseLeapFile(readText(HORLOGE_SHIPPED_LEAPFILE));
  CHECK(t.expiresUnix >= JUNE_2027);
  CHECK(t.entries.back().taiMinusUtc == 37);
  CHECK(utcDate(t.expiresUnix) == "2027-06-28");
}

TEST_CASE("leap file: the valid table that expires later wins; an explicit one stands alone") {
  char tmpl[] = "/tmp/horloge-leap-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl, shipped = readText(HORLOGE_SHIPPED_LEAPFILE);
  std::string older = writeTemp(dir, "older", withExpiry(shipped, JUNE_2027 - 365 * 86400));
  std::string newer = writeTemp(dir, "newer", withExpiry(shipped, JUNE_2027 + 182 * 86400));
  std::string broken = writeTemp(dir, "broken", withExpiry(shipped, JUNE_2027 + 999 * 86400) + "#h 1 2 3 4 5\n");
  std::string absent = dir + "/absent";

  // tzdata fresher than the package, or the other way round: the later expiry either way.
  for (auto paths: {std::vector<std::string>{older, newer}, std::vector<std::string>{newer, older}}) {
    LeapFileChoice c = chooseLeapFile(paths);
    REQUIRE(c.table);
    CHECK(c.path == newer);
    CHECK(c.table->expiresUnix == JUNE_2027 + 182 * 86400);
    CHECK(c.alarm.empty());
  }
  // A tie: the first listed (the shipped copy).
  std::string same = writeTemp(dir, "same", readText(newer));
  CHECK(chooseLeapFile({same, newer}).path == same);
  // A damaged file is never chosen, however late it claims to expire; an expired but valid one
  // is (the status then says it has expired).
  LeapFileChoice c = chooseLeapFile({broken, absent, older});
  CHECK(c.path == older);
  CHECK(c.alarm.empty());
  // Nothing usable: every reason, each with its file.
  c = chooseLeapFile({broken, absent});
  CHECK_FALSE(c.table);
  CHECK(c.alarm.find("no usable leap file") == 0);
  CHECK(c.alarm.find(broken + ": leap file: hash mismatch") != std::string::npos);
  CHECK(c.alarm.find("cannot read " + absent) != std::string::npos);
  // An explicit `leapfile` is the only candidate: its own error, even if others would do.
  c = chooseLeapFile({absent});
  CHECK_FALSE(c.table);
  CHECK(c.alarm == "cannot read " + absent);
  CHECK(chooseLeapFile({older}).path == older);
  // Something that is not a small regular file: refused by name, never read whole.
  CHECK(chooseLeapFile({"/dev/zero"}).alarm == "leap file /dev/zero: not a regular file");
  for (auto& p: {older, newer, broken, same}) unlink(p.c_str());
  rmdir(dir.c_str());
}
