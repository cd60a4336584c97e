#include "temperature-sensor.h"
#include <doctest/doctest.h>
#include <kj/debug.h>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace horloge::clockd;

namespace {
kj::Maybe<double> parse(const char* s) { return parseMillidegrees(kj::arrayPtr(s, strlen(s))); }
double value(kj::Maybe<double> m) { return KJ_ASSERT_NONNULL(m); }
}  // namespace

TEST_CASE("temperature sensor: millidegrees as sysfs writes them, and nothing else") {
  CHECK(value(parse("45123\n")) == doctest::Approx(45.123));
  CHECK(value(parse("-5250\n")) == doctest::Approx(-5.25));
  CHECK(value(parse("0")) == 0);
  CHECK(value(parse(" 38000 \n")) == doctest::Approx(38));
  CHECK(parse("") == nullptr);
  CHECK(parse("\n") == nullptr);
  CHECK(parse("-") == nullptr);
  CHECK(parse("45.1\n") == nullptr);            // degrees with a point: not the sysfs format
  CHECK(parse("45123 45000\n") == nullptr);
  CHECK(parse("hot\n") == nullptr);
  CHECK(parse("250000\n") == nullptr);          // 250 °C: no working board
  CHECK(parse("99999999999999999999\n") == nullptr);
}

TEST_CASE("temperature sensor: read again from the start of the file each time") {
  char dir[] = "/tmp/horloge-tempsensor-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/temp";
  std::ofstream(path) << "41000\n";
  TemperatureSensor s(path.c_str());
  CHECK(s.problem() == "");
  CHECK(value(s.read()) == doctest::Approx(41));
  std::ofstream(path) << "43500\n";             // the same file, rewritten in place
  CHECK(value(s.read()) == doctest::Approx(43.5));
  std::ofstream(path) << "garbage\n";
  CHECK(s.read() == nullptr);
  CHECK(s.problem() == kj::str(path.c_str(), " does not hold a temperature in millidegrees"));
  std::ofstream(path) << "44000\n";             // back: the problem is gone
  CHECK(value(s.read()) == doctest::Approx(44));
  CHECK(s.problem() == "");
  unlink(path.c_str());

  // Missing: a state, never an exception.
  TemperatureSensor missing(path.c_str());
  CHECK(missing.read() == nullptr);
  CHECK(missing.problem() == kj::str("cannot open ", path.c_str(), ": No such file or directory"));
  rmdir(dir);
}
