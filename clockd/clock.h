// The clock clockd drives, one backend per `clock` directive:
//   system   the real clock through clock_adjtime (a Kernel, injectable so tests never touch
//            the host clock): frequency, steps with ADJ_SETOFFSET, STA_INS/STA_DEL;
//   observe  computes everything, adjusts nothing (demo, tests on a shared machine);
//   sim      a virtual clock (sim-clock.h) riding on the system clock: its own frequency error,
//            wander and offset are added to every sample, and it obeys the commands. Saved
//            after each command and continued by the next clockd of the same boot, as the
//            kernel keeps a real clock's offset and frequency across a clockd restart.
#pragma once
#include "config.h"
#include "discipline.h"
#include "leap-file.h"
#include "server-state.h"
#include "sim-clock.h"
#include <kj/memory.h>
#include <kj/string.h>
#include <string>
#include <sys/timex.h>

namespace horloge::clockd {

// The system calls of the `system` backend. realKernel() is clock_adjtime(CLOCK_REALTIME).
class Kernel {
public:
  virtual ~Kernel() = default;
  virtual int adjtime(struct timex& tx) = 0;   // returns the clock state or -1 with errno
};
kj::Own<Kernel> realKernel();

class Clock {
public:
  virtual ~Clock() noexcept(false) = default;
  virtual const char* name() const = 0;
  // False for `observe`: the discipline must then not believe its corrections took effect.
  virtual bool steers() const { return true; }
  virtual void apply(const Command& c) = 0;
  virtual void setLeap(LeapAction a) {}
  // Added to a measured offset (local minus reference) taken at system time `localNs`.
  virtual double sampleBias(int64_t localNs) { return 0; }
  // What the steered clock reads at system time `systemNs`, in seconds: the discipline's time
  // axis. The system clock itself but for `sim`, whose virtual clock runs at its own rate
  // (timed on the system clock, a slew at 8 % would teach the discipline a frequency 0.7 %
  // off: its intervals are counted in the steered clock's seconds).
  virtual double reading(int64_t systemNs) { return systemNs * 1e-9; }
  // The served clock relative to the system clock at `nowNs`: the identity but for `sim`.
  virtual ClockModel model(int64_t nowNs) { return {}; }
  // The correction in force at start (the kernel keeps it across a clockd restart).
  virtual double initialCorrection() { return 0; }
  // What the clock's own thermometer reads at system time `systemNs`, °C: `sim`'s virtual SoC
  // sensor when it has a temperature model; nullptr for the others (a real board's sensor is a
  // file, temperature-sensor.h).
  virtual kj::Maybe<double> temperature(int64_t systemNs) { return nullptr; }
  // A description when someone else has changed the clock since our last command.
  virtual kj::Maybe<kj::String> foreignAdjustment() { return nullptr; }
};

// Where `sim` keeps its virtual clock across clockd restarts (persist.h); path "": nowhere.
struct SimPersistence {
  std::string path;
  std::string bootId;
};

kj::Own<Clock> makeClock(horloge::ClockBackend kind, SimClockParams sim = {},
                         kj::Own<Kernel> kernel = realKernel(), SimPersistence persist = {});

}  // namespace horloge::clockd
