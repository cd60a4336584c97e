// The `system` backend against a test double of clock_adjtime: the host clock is never touched.
#include "clock.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <kj/vector.h>
#include <string>
#include <unistd.h>
#include <cmath>

using namespace horloge;
using namespace horloge::clockd;

namespace {

// Records every call; behaves like the kernel for the fields we use.
struct FakeKernel final: public Kernel {
  struct timex state{};
  kj::Vector<struct timex>* calls;
  explicit FakeKernel(kj::Vector<struct timex>* c): calls(c) { state.tick = 10000; }
  int adjtime(struct timex& tx) override {
    calls->add(tx);
    if (tx.modes & ADJ_FREQUENCY) state.freq = tx.freq;
    if (tx.modes & ADJ_TICK) state.tick = tx.tick;
    if (tx.modes & ADJ_STATUS) state.status = tx.status;
    if (tx.modes & ADJ_OFFSET) state.offset = tx.offset;
    tx = state;
    return TIME_OK;
  }
};

}  // namespace

TEST_CASE("clock system: frequency, step and leap go through clock_adjtime") {
  kj::Vector<struct timex> calls;
  auto fake = kj::heap<FakeKernel>(&calls);
  FakeKernel& k = *fake;
  k.state.freq = 12 * 65536;   // left by a previous run
  auto clock = makeClock(ClockBackend::SYSTEM, {}, kj::mv(fake));
  CHECK(clock->initialCorrection() == doctest::Approx(12e-6).scale(0));

  clock->apply({-20e-6, 0});
  CHECK((calls.back().modes & ADJ_FREQUENCY) != 0);
  CHECK(calls.back().freq == -20 * 65536);
  CHECK(calls.back().tick == 10000);
  CHECK((clock->foreignAdjustment() == nullptr));

  // A fast slew: the tick length takes what ADJ_FREQUENCY cannot (100 ppm a microsecond).
  clock->apply({-83333e-6, 0});
  CHECK(calls.back().tick == 10000 - 833);
  CHECK(calls.back().freq == std::lround(-33e-6 * 65536e6));
  CHECK((clock->foreignAdjustment() == nullptr));
  clock->apply({-20e-6, 0});
  CHECK(calls.back().tick == 10000);

  size_t before = calls.size();
  clock->apply({0, -0.25});
  REQUIRE(calls.size() == before + 2);
  CHECK(calls[before].modes == (ADJ_SETOFFSET | ADJ_NANO));
  CHECK(calls[before].time.tv_sec == -1);
  CHECK(calls[before].time.tv_usec == 750'000'000);

  clock->setLeap(LeapAction::INSERT);
  CHECK((k.state.status & STA_INS) != 0);
  clock->apply({1e-6, 0});          // a frequency update keeps the leap flag
  CHECK((k.state.status & STA_INS) != 0);
  clock->setLeap(LeapAction::NONE);
  CHECK((k.state.status & STA_INS) == 0);

  // Someone else (ntpd, adjtimex(8)) changes the frequency.
  k.state.freq = 100 * 65536;
  KJ_IF_MAYBE(what, clock->foreignAdjustment()) {
    CHECK(kj::StringPtr(*what).startsWith("frequency changed by another process"));
  } else {
    FAIL("not detected");
  }
  CHECK((clock->foreignAdjustment() == nullptr));   // reported once
}

TEST_CASE("clock system: beyond 500 ppm the tick carries the slew (maxslewrate)") {
  kj::Vector<struct timex> calls;
  auto fake = kj::heap<FakeKernel>(&calls);
  FakeKernel& k = *fake;
  k.state.tick = 10000;
  auto clock = makeClock(ClockBackend::SYSTEM, {}, kj::mv(fake));
  CHECK(clock->initialCorrection() == doctest::Approx(0));

  clock->apply({-400e-6, 0});          // within ADJ_FREQUENCY: the tick stays nominal
  CHECK(k.state.tick == 10000);
  CHECK(k.state.freq == -400 * 65536);

  clock->apply({83333.333e-6, 0});     // chrony's maxslewrate: 833 us more per 10 ms tick
  CHECK((calls.back().modes & ADJ_TICK) != 0);
  CHECK(k.state.tick == 10833);
  CHECK(std::abs(k.state.freq) <= 50 * 65536);
  double total = (k.state.tick - 10000) / 10000.0 + k.state.freq / 65536e6;
  CHECK(total == doctest::Approx(83333.333e-6).epsilon(1e-6).scale(0));

  clock->apply({-0.2, 0});             // beyond the kernel's +-10 %: clamped to the tick's range
  CHECK(k.state.tick == 9000);
  CHECK(k.state.freq == -500 * 65536);
  CHECK((clock->foreignAdjustment() == nullptr));

  // A restart reads tick and frequency back as one correction.
  kj::Vector<struct timex> calls2;
  auto fake2 = kj::heap<FakeKernel>(&calls2);
  fake2->state.tick = 10833;
  fake2->state.freq = 3 * 65536;
  auto again = makeClock(ClockBackend::SYSTEM, {}, kj::mv(fake2));
  CHECK(again->initialCorrection() == doctest::Approx(83303e-6).epsilon(1e-6).scale(0));

  k.state.tick = 10100;                // someone else changed the tick
  CHECK((clock->foreignAdjustment() != nullptr));
}

TEST_CASE("clock observe never steers; sim adds its own error") {
  CHECK_FALSE(makeClock(ClockBackend::OBSERVE)->steers());
  SimClockParams p;
  p.offset = 10e-3;
  auto sim = makeClock(ClockBackend::SIM, p);
  CHECK(sim->sampleBias(realtimeNs()) == doctest::Approx(10e-3).epsilon(0.01));
}

TEST_CASE("clock sim start: the virtual clock begins at a given date, and inserts its leap there") {
  // As `clock sim start 2027-06-30T23:58:00Z`: 2 minutes before a leap midnight, whatever the
  // host's date.
  constexpr double START = 1'814'399'880, MIDNIGHT = 1'814'400'000;
  SimClockParams p;
  p.offset = 10e-3;
  p.startAt = START;
  auto sim = makeClock(ClockBackend::SIM, p);
  int64_t now = realtimeNs();
  CHECK(sim->reading(now) == doctest::Approx(START + 10e-3).epsilon(1e-12));
  CHECK(sim->model(now).offsetNs > int64_t(START - now * 1e-9 - 1) * 1'000'000'000);
  // Armed, the leap is in the model netd serves: at the system time its served time reaches
  // midnight, and not before (netd makes it on time, whenever clockd pushes next).
  CHECK(sim->model(now).leapNs == 0);
  sim->setLeap(LeapAction::INSERT);
  ClockModel m = sim->model(now);
  REQUIRE(m.leapNs == -1'000'000'000);
  CHECK(served(m, m.leapAtNs - 1) * 1e-9 == doctest::Approx(MIDNIGHT).epsilon(1e-12));
  CHECK(served(m, m.leapAtNs) * 1e-9 == doctest::Approx(MIDNIGHT - 1).epsilon(1e-12));
  CHECK(m.leapAtNs - now == doctest::Approx((MIDNIGHT - START - 10e-3) * 1e9).epsilon(1e-4));

  SimClock c(p, 1'796'515'200);                    // the host's time: 2026-12-06
  CHECK(c.localTime() == doctest::Approx(START + 10e-3));
  c.setLeap(1);
  for (int s = 0; s < 180; ++s) c.advance(1);
  CHECK(c.leapsDone() == 1);
  // 180 s of true time later (20 ppm fast) its local time went back by the inserted second.
  CHECK(c.localTime() - (START + 180) == doctest::Approx(10e-3 + 20e-6 * 180 - 1).epsilon(1e-4));
  CHECK(c.localTime() > MIDNIGHT);
}

TEST_CASE("clock sim: a restarted clockd continues the same virtual clock, as a kernel would") {
  char tmpl[] = "/tmp/horloge-simclock-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string path = std::string(tmpl) + "/sim-clock.state";
  SimClockParams p;
  p.offset = 10e-3;
  p.frequency = 20e-6;
  p.wander = 0;
  double offset = 0;
  int64_t then = 0;
  {
    auto a = makeClock(ClockBackend::SIM, p, realKernel(), {path, "boot-1"});
    CHECK(a->initialCorrection() == 0);
    a->apply({-25e-6, -9.5e-3});            // slew 5 ppm back, and step most of the offset
    then = realtimeNs();
    offset = a->sampleBias(then);
    CHECK(offset == doctest::Approx(0.5e-3).epsilon(0.01));
  }
  usleep(200'000);
  // Same boot: the correction in force and the offset, run on for the time it was away.
  auto b = makeClock(ClockBackend::SIM, p, realKernel(), {path, "boot-1"});
  CHECK(b->initialCorrection() == -25e-6);
  int64_t now = realtimeNs();
  double expect = offset + (20e-6 - 25e-6) * (now - then) * 1e-9;
  CHECK(b->sampleBias(now) == doctest::Approx(expect).epsilon(1e-6).scale(0));
  ClockModel m = b->model(now);
  CHECK(m.frequency == doctest::Approx(-5e-6).scale(0));
  // Another boot: a new clock from the configured model.
  auto c = makeClock(ClockBackend::SIM, p, realKernel(), {path, "boot-2"});
  CHECK(c->initialCorrection() == 0);
  CHECK(c->sampleBias(realtimeNs()) == doctest::Approx(10e-3).epsilon(0.01));
  unlink(path.c_str());
  unlink((path + ".tmp").c_str());
  rmdir(tmpl);
}
