#include "clock.h"
#include "log.h"
#include "ntp-time.h"
#include "persist.h"
#include <kj/debug.h>
#include <cerrno>
#include <cmath>
#include <time.h>

namespace horloge::clockd {

namespace {

constexpr double FREQ_SCALE = 65536e6;   // timex.freq: ppm with a 16-bit fraction

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
  explicit SystemClock(kj::Own<Kernel> k): kernel(kj::mv(k)) {}
  const char* name() const override { return "system"; }

  double initialCorrection() override {
    struct timex tx{};
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime read");
    lastFreq = tx.freq;
    lastStatus = tx.status;
    return tx.freq / FREQ_SCALE;
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
    tx.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_OFFSET;
    tx.freq = std::lround(c.correction * FREQ_SCALE);
    tx.offset = 0;
    tx.status = (lastStatus & (STA_INS | STA_DEL)) ;
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime frequency");
    lastFreq = tx.freq;
    lastStatus = tx.status;
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
    } else if (tx.status & (STA_PLL | STA_FLL)) {
      what = kj::str("another process enabled the kernel PLL/FLL");
    } else if (tx.offset != 0) {
      what = kj::str("another process started a slew (adjtime)");
    }
    lastFreq = tx.freq;
    lastStatus = tx.status;
    return what;
  }

private:
  kj::Own<Kernel> kernel;
  long lastFreq = 0;
  int lastStatus = 0;
};

class SimBackend final: public Clock {
public:
  SimBackend(SimClockParams p, SimPersistence persist)
      : params(p), persist(kj::mv(persist)), sim(p, realtimeNs() * 1e-9) {
    if (this->persist.path.empty()) return;
    if (auto saved = readSimState(this->persist.path, this->persist.bootId, p)) {
      double now = realtimeNs() * 1e-9;
      sim.restore(*saved);
      sampleBias(realtimeNs());   // the time it ran without us, as a kernel clock does
      log::info(kj::str("sim clock: continuing the virtual clock saved ", now - saved->trueTime,
                        " s ago: offset ", sim.offset() * 1e6, " us, correction ",
                        sim.state().correction * 1e6, " ppm"));
    }
    save();
  }
  const char* name() const override { return "sim"; }
  double sampleBias(int64_t localNs) override {
    double dt = localNs * 1e-9 - sim.trueTime();
    if (dt > 0) sim.advance(dt);
    return sim.offset();
  }
  ClockModel model(int64_t nowNs) override {
    double bias = sampleBias(nowNs);
    return {static_cast<int64_t>(bias * 1e9), sim.frequencyError(), nowNs};
  }
  double initialCorrection() override { return sim.state().correction; }
  void apply(const Command& c) override {
    sampleBias(realtimeNs());   // like the kernel's, a command takes effect when applied
    sim.step(c.step);
    sim.setCorrection(c.correction);
    save();
  }
  void setLeap(LeapAction a) override {
    SimClockState before = sim.state();
    sim.setLeap(static_cast<int>(a));
    SimClockState after = sim.state();
    if (after.leap != before.leap || after.waiting != before.waiting) save();
  }

private:
  SimClockParams params;
  SimPersistence persist;
  SimClock sim;
  bool saveFailed = false;

  void save() {
    if (persist.path.empty()) return;
    try {
      writeSimState(persist.path, persist.bootId, params, sim.state());
      saveFailed = false;
    } catch (const std::exception& e) {
      if (!saveFailed) log::warn(kj::str("sim clock: ", e.what()));   // once per outage
      saveFailed = true;
    }
  }
};

}  // namespace

kj::Own<Kernel> realKernel() { return kj::heap<RealKernel>(); }

kj::Own<Clock> makeClock(horloge::ClockBackend kind, SimClockParams sim, kj::Own<Kernel> kernel,
                         SimPersistence persist) {
  switch (kind) {
    case horloge::ClockBackend::OBSERVE: return kj::heap<ObserveClock>();
    case horloge::ClockBackend::SYSTEM: return kj::heap<SystemClock>(kj::mv(kernel));
    case horloge::ClockBackend::SIM: return kj::heap<SimBackend>(sim, kj::mv(persist));
  }
  KJ_UNREACHABLE;
}

}  // namespace horloge::clockd
