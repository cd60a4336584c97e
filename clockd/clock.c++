#include "clock.h"
#include "log.h"
#include "ntp-time.h"
#include <kj/debug.h>
#include <cerrno>
#include <algorithm>
#include <cmath>
#include <time.h>
#include <unistd.h>

namespace horloge::clockd {

namespace {

constexpr double FREQ_SCALE = 65536e6;   // timex.freq: ppm with a 16-bit fraction
constexpr double FREQ_LIMIT = 500e-6;     // |timex.freq| the kernel takes

class RealKernel final: public Kernel {
public:
  int adjtime(struct timex& tx) override { return clock_adjtime(CLOCK_REALTIME, &tx); }
};

class ObserveClock final: public Clock {
public:
  const char* name() const override { return "observe"; }
  bool steers() const override { return false; }
  void apply(const Command&) override {}   // by definition: never touch the clock
};

class SystemClock final: public Clock {
public:
  explicit SystemClock(kj::Own<Kernel> k)
      : kernel(kj::mv(k)), nominalTick(1'000'000 / sysconf(_SC_CLK_TCK)), lastTick(nominalTick) {}
  const char* name() const override { return "system"; }

  double initialCorrection() override {
    struct timex tx{};
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime read");
    lastFreq = tx.freq;
    lastStatus = tx.status;
    lastTick = tx.tick;
    return tx.freq / FREQ_SCALE + double(tx.tick - nominalTick) / double(nominalTick);
  }

  void apply(const Command& c) override {
    if (c.step != 0) {
      struct timex tx{};
      tx.modes = ADJ_SETOFFSET | ADJ_NANO;
      double whole = std::floor(c.step);
      tx.time.tv_sec = static_cast<time_t>(whole);
      tx.time.tv_usec = static_cast<suseconds_t>(std::llround((c.step - whole) * 1e9));
      if (tx.time.tv_usec >= 1'000'000'000) { tx.time.tv_sec += 1; tx.time.tv_usec = 0; }
      KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime step");
      log::warn(kj::str("stepped the clock by ", c.step, " s"));
    }
    struct timex tx{};
    // Our own frequency loop: no kernel PLL/FLL, no pending offset; the clock is synchronised.
    // Beyond ADJ_FREQUENCY's 500 ppm (a fast slew) the tick length takes the bulk, in steps
    // of 1/nominalTick (100 ppm at USER_HZ 100), up to 10 %.
    long tickDelta = 0;
    if (std::fabs(c.correction) > FREQ_LIMIT) {
      tickDelta = std::clamp(std::lround(c.correction * double(nominalTick)), -nominalTick / 10,
                             nominalTick / 10);
    }
    double rest = std::clamp(c.correction - double(tickDelta) / double(nominalTick), -FREQ_LIMIT,
                             FREQ_LIMIT);
    tx.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_OFFSET | ADJ_TICK;
    tx.freq = std::lround(rest * FREQ_SCALE);
    tx.tick = nominalTick + tickDelta;
    tx.offset = 0;
    tx.status = (lastStatus & (STA_INS | STA_DEL)) ;
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime frequency");
    lastFreq = tx.freq;
    lastStatus = tx.status;
    lastTick = tx.tick;
  }

  void setLeap(LeapAction a) override {
    int want = a == LeapAction::INSERT ? STA_INS : a == LeapAction::DELETE ? STA_DEL : 0;
    if ((lastStatus & (STA_INS | STA_DEL)) == want) return;
    struct timex tx{};
    tx.modes = ADJ_STATUS;
    tx.status = (lastStatus & ~(STA_INS | STA_DEL)) | want;
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime leap");
    lastStatus = tx.status;
  }

  kj::Maybe<kj::String> foreignAdjustment() override {
    struct timex tx{};
    if (kernel->adjtime(tx) < 0) return kj::str("clock_adjtime read failed: ", strerror(errno));
    kj::Maybe<kj::String> what;
    if (tx.freq != lastFreq) {
      what = kj::str("frequency changed by another process (", lastFreq / 65536.0, " -> ",
                     tx.freq / 65536.0, " ppm)");
    } else if (tx.tick != lastTick) {
      what = kj::str("tick length changed by another process (", lastTick, " -> ", tx.tick, " us)");
    } else if (tx.status & (STA_PLL | STA_FLL)) {
      what = kj::str("another process enabled the kernel PLL/FLL");
    } else if (tx.offset != 0) {
      what = kj::str("another process started a slew (adjtime)");
    }
    lastFreq = tx.freq;
    lastStatus = tx.status;
    lastTick = tx.tick;
    return what;
  }

private:
  kj::Own<Kernel> kernel;
  long nominalTick;             // us per kernel tick at USER_HZ: 10000
  long lastFreq = 0;
  long lastTick;
  int lastStatus = 0;
};

class SimBackend final: public Clock {
public:
  explicit SimBackend(SimClockParams p): sim(p, realtimeNs() * 1e-9) {}
  const char* name() const override { return "sim"; }
  double sampleBias(int64_t localNs) override {
    double dt = localNs * 1e-9 - sim.trueTime();
    if (dt > 0) sim.advance(dt);
    return sim.offset();
  }
  double reading(int64_t systemNs) const override {
    double t = systemNs * 1e-9;   // extrapolated from where the sim was last advanced to
    return t + sim.offset() + sim.frequencyError() * (t - sim.trueTime());
  }
  ClockModel model(int64_t nowNs) override {
    double bias = sampleBias(nowNs);
    return {static_cast<int64_t>(bias * 1e9), sim.frequencyError(), nowNs};
  }
  void apply(const Command& c) override {
    sampleBias(realtimeNs());   // like the kernel's, a command takes effect when applied
    sim.step(c.step);
    sim.setCorrection(c.correction);
  }
  void setLeap(LeapAction a) override { sim.setLeap(static_cast<int>(a)); }

private:
  SimClock sim;
};

}  // namespace

kj::Own<Kernel> realKernel() { return kj::heap<RealKernel>(); }

kj::Own<Clock> makeClock(horloge::ClockBackend kind, SimClockParams sim, kj::Own<Kernel> kernel) {
  switch (kind) {
    case horloge::ClockBackend::OBSERVE: return kj::heap<ObserveClock>();
    case horloge::ClockBackend::SYSTEM: return kj::heap<SystemClock>(kj::mv(kernel));
    case horloge::ClockBackend::SIM: return kj::heap<SimBackend>(sim);
  }
  KJ_UNREACHABLE;
}

}  // namespace horloge::clockd
