#include "clock.h"
#include "log.h"
#include "ntp-time.h"
#include "persist.h"
#include <kj/debug.h>
#include <cerrno>
#include <deque>
#include <algorithm>
#include <cmath>
#include <time.h>
#include <unistd.h>

namespace horloge::clockd {

namespace {

constexpr double FREQ_SCALE = 65536e6;   // timex.freq: ppm with a 16-bit fraction
constexpr double MAX_FREQ = 500e-6;      // the kernel's ADJ_FREQUENCY limit
// timex.tick: microseconds per USER_HZ (100) tick; the kernel takes 9000..11000 (+-10 %).
constexpr long NOMINAL_TICK = 10000, MAX_TICK_DELTA = 1000;

// A rate correction as tick + frequency, as chrony's sys_linux does beyond 500 ppm: the tick
// carries whole 100 ppm units, the frequency the rest (within +-50 ppm). Up to 500 ppm the
// tick stays nominal, so the usual case looks as it always did to other tools.
struct TickFreq { long tick, freq; };
TickFreq split(double correction) {
  long delta = 0;
  if (std::fabs(correction) > MAX_FREQ) {
    delta = std::clamp<long>(std::lround(correction * NOMINAL_TICK), -MAX_TICK_DELTA, MAX_TICK_DELTA);
  }
  double rest = std::clamp(correction - double(delta) / NOMINAL_TICK, -MAX_FREQ, MAX_FREQ);
  return {NOMINAL_TICK + delta, std::lround(rest * FREQ_SCALE)};
}
double joined(long tick, long freq) {
  if (tick == 0) tick = NOMINAL_TICK;   // a kernel (or double) that does not report it
  return double(tick - NOMINAL_TICK) / NOMINAL_TICK + freq / FREQ_SCALE;
}

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
      : kernel(kj::mv(k)) {}
  const char* name() const override { return "system"; }

  double initialCorrection() override {
    struct timex tx{};
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime read");
    lastFreq = tx.freq;
    lastTick = tx.tick;
    lastStatus = tx.status;
    return joined(tx.tick, tx.freq);
  }

  void apply(const Command& c) override {
    if (c.step != 0) {
      struct timex tx{};
      tx.modes = ADJ_SETOFFSET | ADJ_NANO;
      double whole = std::floor(c.step);
      tx.time.tv_sec = static_cast<time_t>(whole);
      tx.time.tv_usec = static_cast<suseconds_t>(std::llround((c.step - whole) * 1e9));
      if (tx.time.tv_usec >= ntp::NS_PER_S) { tx.time.tv_sec += 1; tx.time.tv_usec = 0; }
      KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime step");
      log::warn(kj::str("stepped the clock by ", c.step, " s"));
    }
    struct timex tx{};
    // Our own frequency loop: no kernel PLL/FLL, no pending offset; the clock is synchronised.
    TickFreq r = split(c.correction);
    tx.modes = ADJ_FREQUENCY | ADJ_TICK | ADJ_STATUS | ADJ_OFFSET;
    tx.freq = r.freq;
    tx.tick = r.tick;
    tx.offset = 0;
    tx.status = (lastStatus & (STA_INS | STA_DEL)) ;
    KJ_SYSCALL(kernel->adjtime(tx), "clock_adjtime frequency");
    lastFreq = r.freq;
    lastTick = r.tick;
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
    if (tx.freq != lastFreq || (tx.tick != 0 && lastTick != 0 && tx.tick != lastTick)) {
      what = kj::str("frequency changed by another process (", joined(lastTick, lastFreq) * 1e6,
                     " -> ", joined(tx.tick, tx.freq) * 1e6, " ppm)");
    } else if (tx.status & (STA_PLL | STA_FLL)) {
      what = kj::str("another process enabled the kernel PLL/FLL");
    } else if (tx.offset != 0) {
      what = kj::str("another process started a slew (adjtime)");
    }
    lastFreq = tx.freq;
    lastTick = tx.tick;
    lastStatus = tx.status;
    lastTick = tx.tick;
    return what;
  }

private:
  kj::Own<Kernel> kernel;
  long lastFreq = 0, lastTick = 0;
  int lastStatus = 0;
};

class SimBackend final: public Clock {
public:
  SimBackend(SimClockParams p, SimPersistence persist)
      : params(p), persist(kj::mv(persist)), sim(p, realtimeNs() * 1e-9) {
    if (!this->persist.path.empty()) {
      if (auto saved = readSimState(this->persist.path, this->persist.bootId, p)) {
        double now = realtimeNs() * 1e-9;
        sim.restore(*saved);
        record();
        sampleBias(realtimeNs());   // the time it ran without us, as a kernel clock does
        log::info(kj::str("sim clock: continuing the virtual clock saved ", now - saved->trueTime,
                          " s ago: offset ", sim.offset() * 1e6, " us, correction ",
                          sim.state().correction * 1e6, " ppm"));
      }
    }
    if (knots.empty()) record();
    save();
  }
  const char* name() const override { return "sim"; }
  bool stepsStamps() const override { return false; }
  // A sample reaches us after its event (an NMEA sentence follows its edge by 0.2 s, and the
  // virtual clock may have been advanced meanwhile): its bias is the offset at its own time,
  // which at an 83,333 ppm slew differs from the offset now by 17 ms.
  double sampleBias(int64_t localNs) override {
    double t = localNs * 1e-9;
    if (t >= sim.trueTime()) {
      sim.advance(t - sim.trueTime());
      record();
      return sim.offset();
    }
    for (size_t i = knots.size(); i-- > 0;) {
      if (knots[i].t <= t || i == 0) return knots[i].theta + knots[i].rate * (t - knots[i].t);
    }
    KJ_UNREACHABLE;
  }
  double reading(int64_t systemNs) override { return systemNs * 1e-9 + sampleBias(systemNs); }
  ClockModel model(int64_t nowNs) override {
    double bias = sampleBias(nowNs);
    ClockModel m{static_cast<int64_t>(bias * 1e9), sim.frequencyError(), nowNs};
    // A leap armed and not yet made: the virtual clock makes it when it reaches midnight.
    int leap = sim.state().leap;
    if (leap != 0) {
      double local = nowNs * 1e-9 + bias;
      double midnight = (std::floor(local / 86400) + 1) * 86400;
      m.leapAtNs = nowNs + static_cast<int64_t>(std::ceil((midnight - local) / (1 + m.frequency) * 1e9));
      m.leapNs = -leap * int64_t(1'000'000'000);
    }
    return m;
  }
  double initialCorrection() override { return sim.state().correction; }
  kj::Maybe<double> temperature(int64_t systemNs) override {
    if (!params.thermal.enabled) return nullptr;
    sampleBias(systemNs);   // the crystal and the SoC at that time
    return sim.temperatureReading();
  }
  void apply(const Command& c) override {
    sampleBias(realtimeNs());   // like the kernel's, a command takes effect when applied
    sim.step(c.step);
    sim.setCorrection(c.correction);
    record();
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
  // The virtual clock's offset and rate from each moment it was advanced or commanded, over
  // the last KEEP_S seconds: between two, the rate was constant (but for the wander's
  // per-second kicks, far below the jitter).
  struct Knot { double t, theta, rate; };
  static constexpr double KEEP_S = 30;
  std::deque<Knot> knots;
  void record() {
    knots.push_back({sim.trueTime(), sim.offset(), sim.frequencyError()});
    while (knots.size() > 2 && knots[1].t < sim.trueTime() - KEEP_S) knots.pop_front();
  }
  bool saveFailed = false;

  void save() {
    if (persist.path.empty()) return;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      writeSimState(persist.path, persist.bootId, params, sim.state());
    })) {
      if (!saveFailed) log::warn(kj::str("sim clock: ", e->getDescription()));   // once per outage
      saveFailed = true;
    } else {
      saveFailed = false;
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
