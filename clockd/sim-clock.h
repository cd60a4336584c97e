// A virtual clock for deterministic accuracy tests: the model of issue 5, nothing more.
//   - its oscillator runs `frequency` fast (s/s), and that error random-walks: each second it
//     changes by wander * N(0,1);
//   - it starts `offset` seconds ahead of true time (or of `startAt`);
//   - its frequency may step once, as a load or fan change makes a crystal do;
//   - it may have a temperature (sim-temperature.h) that its frequency follows;
//   - a reading of it against the reference carries Gaussian jitter J;
//   - like the kernel, it applies a frequency correction, steps, and inserts or deletes a leap
//     second at midnight UTC when told to.
// Deterministic for a given seed (own Gaussian generator over mt19937_64).
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include "sim-temperature.h"

namespace horloge::clockd {

struct SimClockParams {
  double frequency = 20e-6;
  double wander = 1e-9;           // W, s/s per sqrt(s)
  double offset = 10e-3;          // s
  double jitter = 1e-6;           // J, s
  uint64_t seed = 1;
  double frequencyStep = 0;       // s/s added to the frequency error...
  double frequencyStepAt = 0;     // ...this many seconds of true time after the start
  SimThermalParams thermal;
  // The local time at the start, Unix seconds (a board whose RTC says so; a leap midnight in
  // tests): the offset is then `offset` from it. 0: `offset` from true time.
  double startAt = 0;
};

// Everything of a SimClock that evolves: what the kernel would keep across a clockd restart.
struct SimClockState {
  double trueTime = 0;            // s, the reference (host clock) time it is given at
  double offset = 0;              // s, local minus true
  double frequency = 0;           // s/s, the oscillator's error (without the correction)
  double correction = 0;          // s/s, the correction in force
  int leap = 0;                   // as setLeap() left it
  bool waiting = false;
  int leaps = 0;
  double untilStep = -1;          // s of true time before the frequency step; -1: none pending
  double elapsed = 0;             // s of true time since the start (the temperature's clock)
  double crystal = 0;             // °C, the crystal's temperature
};

class SimClock {
public:
  explicit SimClock(SimClockParams p, double trueStart = 0);

  // Advances true time by dt seconds (the wander is applied per whole second of true time).
  void advance(double dt);

  double trueTime() const { return t; }
  double localTime() const { return t + theta; }
  double offset() const { return theta; }            // local minus true, s
  // The clock's rate error now: the oscillator's (with its temperature's share) and ours.
  double frequencyError() const { return f + thermalFrequency() + correction; }
  // What the temperature sensor reads now (the SoC's); NaN without a temperature model.
  double temperatureReading() { return thermal ? thermal->reading(t - start) : NAN; }
  // The crystal's temperature and its share of the frequency error.
  double crystalTemperature() const { return thermal ? thermal->crystal() : NAN; }
  double thermalFrequency() const { return thermal ? thermal->frequency() : 0; }
  double jitteredOffset() { return theta + p.jitter * gauss(); }
  double gauss();

  void setCorrection(double c) { correction = c; }
  void step(double s) { theta += s; }
  // +1 insert, -1 delete, 0 none: applied when local time crosses a UTC midnight. As in the
  // kernel (TIME_WAIT), after a leap the flag is ignored until it has been cleared.
  void setLeap(int l) {
    if (l == 0) waiting = false;
    if (!waiting) leap = l;
  }
  int leapsDone() const { return leaps; }

  SimClockState state() const {
    return {t,     theta, f, correction, leap, waiting, leaps, std::isinf(untilStep) ? -1 : untilStep,
            t - start, thermal ? thermal->crystal() : 0};
  }
  // Continues from a saved state; the parameters and the random sequence stay this clock's.
  void restore(const SimClockState& s);

private:
  SimClockParams p;
  std::mt19937_64 rng;
  double t, start, theta, f, correction = 0, untilWander = 1, untilStep;
  std::optional<SimThermal> thermal;
  int leap = 0, leaps = 0;
  bool waiting = false, spare = false;
  double spareValue = 0;
};

}  // namespace horloge::clockd
