// The `system` backend against a test double of clock_adjtime: the host clock is never touched.
#include "clock.h"
#include "ntp-time.h"
#include <doctest/doctest.h>
#include <kj/vector.h>
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
  CHECK(clock->initialCorrection() == doctest::Approx(12e-6));

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

TEST_CASE("clock observe never steers; sim adds its own error") {
  CHECK_FALSE(makeClock(ClockBackend::OBSERVE)->steers());
  SimClockParams p;
  p.offset = 10e-3;
  auto sim = makeClock(ClockBackend::SIM, p);
  CHECK(sim->sampleBias(realtimeNs()) == doctest::Approx(10e-3).epsilon(0.01));
}
