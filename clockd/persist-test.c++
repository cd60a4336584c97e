#include "discipline.h"
#include "persist.h"
#include <doctest/doctest.h>
#include <kj/exception.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <cmath>
#include <unistd.h>

using namespace horloge::clockd;

namespace {
std::string tempDir() {
  char tmpl[] = "/tmp/horloge-persist-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("persist: drift file round trip; garbage ignored") {
  std::string dir = tempDir(), path = dir + "/drift";
  CHECK_FALSE(readDrift(path));
  writeDrift(path, {-17.25e-6, 0.05e-6});
  auto d = readDrift(path);
  REQUIRE(d);
  CHECK(d->frequency == doctest::Approx(-17.25e-6).scale(0));
  CHECK(d->sigma == doctest::Approx(0.05e-6).scale(0));
  std::ofstream(path) << "nan 3\n";
  CHECK_FALSE(readDrift(path));
  std::ofstream(path) << "9000 1\n";   // beyond the kernel's range
  CHECK_FALSE(readDrift(path));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("persist: a restart in the same boot keeps the step window closed") {
  std::string dir = tempDir(), path = dir + "/clockd.state";
  DisciplineParams p;
  p.stepThreshold = 0.1;
  p.stepLimit = 3;

  // First run: a 1 s error is stepped at the first update; three updates close the window.
  Discipline first(p);
  CHECK(first.update(0, 1.0, 1e-6).step == doctest::Approx(-1.0));
  first.update(1, 0, 1e-6);
  first.update(2, 0, 1e-6);
  writeStepState(path, {"boot-a", first.updatesDone(), 123});

  // clockd restarts in the same boot: a 1 s error now is slewed, never stepped.
  auto saved = readStepState(path);
  REQUIRE(saved);
  CHECK(saved->lastGoodNs == 123);
  Discipline again(p);
  again.setUpdatesDone(updatesAtStart(saved, "boot-a"));
  CHECK(again.update(0, 1.0, 1e-6).step == 0);

  // After a reboot the window is open again.
  Discipline rebooted(p);
  rebooted.setUpdatesDone(updatesAtStart(saved, "boot-b"));
  CHECK(rebooted.update(0, 1.0, 1e-6).step == doctest::Approx(-1.0));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("persist: a huge update count neither wraps nor reopens the step window") {
  std::string dir = tempDir(), path = dir + "/clockd.state";
  std::ofstream(path) << "boot-a 2147483647 5\n";
  auto saved = readStepState(path);
  REQUIRE(saved);
  CHECK(saved->updates == MAX_SAVED_UPDATES);
  DisciplineParams p;
  p.stepThreshold = 0.1;
  p.stepLimit = 1'000'000'000;   // the largest limit the configuration takes
  Discipline d(p);
  d.setUpdatesDone(updatesAtStart(saved, "boot-a"));
  CHECK(d.update(0, 1.0, 1e-6).step == 0);
  writeStepState(path, {"boot-a", d.updatesDone(), 6});
  saved = readStepState(path);   // what the next start reads: not negative, still closed
  REQUIRE(saved);
  CHECK(saved->updates == MAX_SAVED_UPDATES);
  std::ofstream(path) << "boot-a 99999999999999999999 5\n";   // past any integer: garbage
  CHECK_FALSE(readStepState(path));
  std::ofstream(path) << "boot-a -1 5\n";
  CHECK_FALSE(readStepState(path));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("persist: files that cannot be ours are refused by name, never read whole") {
  // An operator's driftfile naming a device: an error naming it (clockd stops with it).
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([]() { readDrift("/dev/zero"); })) {
    CHECK(e->getDescription() == "driftfile /dev/zero: not a regular file");
  } else {
    FAIL("/dev/zero accepted as a driftfile");
  }
  // Our own state file grown past any line we write: ignored, as a damaged one is.
  std::string dir = tempDir(), path = dir + "/clockd.state";
  std::ofstream(path) << "boot-a 3 5" << std::string(MAX_STATE_FILE_BYTES, ' ') << "\n";
  CHECK_FALSE(readStepState(path));
  CHECK_FALSE(readSimState(path, "boot-a", SimClockParams{}));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("persist: a drift file makes the discipline start on frequency") {
  DisciplineParams p;
  Discipline d(p);
  d.setInitialFrequency(20e-6, 0.01e-6);
  Command c = d.update(0, 0, 1e-6);
  CHECK(c.correction == doctest::Approx(-20e-6).epsilon(1e-3).scale(0));
}

TEST_CASE("persist: the sim clock's state, only for the same boot and the same model") {
  std::string dir = tempDir(), path = dir + "/sim-clock.state";
  SimClockParams p;
  p.frequency = 100e-6;
  p.offset = 1;
  SimClockState s{1.8e9 + 0.25, -0.0123456789012345, 100.5e-6, -99.75e-6, 1, true, 2};
  CHECK_FALSE(readSimState(path, "boot-a", p));
  writeSimState(path, "boot-a", p, s);
  auto back = readSimState(path, "boot-a", p);
  REQUIRE(back);
  CHECK(back->trueTime == s.trueTime);       // 17 digits: exact
  CHECK(back->offset == s.offset);
  CHECK(back->frequency == s.frequency);
  CHECK(back->correction == s.correction);
  CHECK(back->leap == 1);
  CHECK(back->waiting);
  CHECK(back->leaps == 2);
  CHECK_FALSE(readSimState(path, "boot-b", p));   // rebooted: the kernel would have forgotten
  CHECK_FALSE(readSimState(path, "", p));
  SimClockParams other = p;
  other.seed = 2;
  CHECK_FALSE(readSimState(path, "boot-a", other));   // another model configured
  std::ofstream(path) << "horloge-sim-clock-1 boot-a nan 0 0 0 0 0 0 1e-4 1e-9 1 1e-6 1\n";
  CHECK_FALSE(readSimState(path, "boot-a", p));
  std::ofstream(path) << "garbage\n";
  CHECK_FALSE(readSimState(path, "boot-a", p));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

namespace {
// A relation learnt from clean data: 0.25 ppm/°C, no lag, two hours of a swinging temperature.
TemperatureModel learnt() {
  TemperatureModel m;
  double phi = 0;
  for (double t = 0; t < 7200; t += 10) {
    double c = 45 + 5 * std::sin(2 * M_PI * t / 3600);
    m.reading(t, c);
    m.phase(t, phi);
    phi += (3e-6 + 0.25e-6 * (c - 45)) * 10;
  }
  return m;
}
}  // namespace

TEST_CASE("persist: the temperature relation round trip; garbage is learnt again") {
  std::string dir = tempDir(), path = dir + "/clockd.temperature";
  CHECK_FALSE(readTemperatureMemory(path));
  TemperatureModel before = learnt();
  REQUIRE(before.active());
  writeTemperatureMemory(path, before.memory());
  auto m = readTemperatureMemory(path);
  REQUIRE(m);
  TemperatureModel after;
  after.restore(*m);
  TemperatureFit a = before.fit(), b = after.fit();
  CHECK(b.active);
  CHECK(b.linear == a.linear);                  // 17 digits: exactly the same relation
  CHECK(b.quadratic == a.quadratic);
  CHECK(b.lag == a.lag);
  CHECK(b.reference == a.reference);
  CHECK(b.linear == doctest::Approx(0.25e-6).scale(0).epsilon(0.01));

  std::string good;
  {
    std::ifstream in(path);
    std::getline(in, good);
  }
  for (std::string bad: {std::string(""), std::string("garbage\n"),
                         std::string("horloge-temperature-1 45 0\n"),   // cut short
                         good + " 7\n",                                 // one too many
                         std::string("horloge-temperature-2") + good.substr(21)}) {
    std::ofstream(path) << bad;
    CHECK_FALSE(readTemperatureMemory(path));
  }
  auto tweak = [&](int field, const char* value) {
    std::istringstream in(good);
    std::string out, word;
    for (int i = 0; in >> word; ++i) out += (i ? " " : "") + (i == field ? std::string(value) : word);
    return out + "\n";
  };
  std::ofstream(path) << tweak(1, "nan");       // reference
  CHECK_FALSE(readTemperatureMemory(path));
  std::ofstream(path) << tweak(3, "42");        // a lag the bank does not have
  CHECK_FALSE(readTemperatureMemory(path));
  std::ofstream(path) << tweak(5, "1e300");     // n[0][1] != n[1][0]
  CHECK_FALSE(readTemperatureMemory(path));
  std::ofstream(path) << tweak(17, "-1");       // weight
  CHECK_FALSE(readTemperatureMemory(path));
  std::ofstream(path) << tweak(1, "45");        // still ours
  CHECK(readTemperatureMemory(path));
  unlink(path.c_str());
  rmdir(dir.c_str());
}
