#include "sim-clock.h"
#include <algorithm>
#include <cmath>

namespace horloge::clockd {

SimClock::SimClock(SimClockParams p, double trueStart)
    : p(p), rng(p.seed), t(trueStart), start(trueStart), theta(p.offset + (p.startAt != 0 ? p.startAt - trueStart : 0)), f(p.frequency),
      untilStep(p.frequencyStep != 0 ? p.frequencyStepAt : INFINITY) {
  if (p.thermal.enabled) thermal.emplace(p.thermal, p.seed);
}

double SimClock::gauss() {
  // Marsaglia's polar method: the same numbers on every platform for a seed.
  if (spare) { spare = false; return spareValue; }
  double u, v, s;
  do {
    u = (rng() >> 11) * 0x1.0p-53 * 2 - 1;
    v = (rng() >> 11) * 0x1.0p-53 * 2 - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  double m = std::sqrt(-2 * std::log(s) / s);
  spare = true;
  spareValue = v * m;
  return u * m;
}

void SimClock::restore(const SimClockState& s) {
  t = s.trueTime;
  theta = s.offset;
  f = s.frequency;
  correction = s.correction;
  leap = s.leap;
  waiting = s.waiting;
  leaps = s.leaps;
  untilWander = 1;
  untilStep = s.untilStep < 0 ? INFINITY : s.untilStep;
  start = t - s.elapsed;
  if (thermal) thermal->setCrystal(s.crystal);
}

void SimClock::advance(double dt) {
  while (dt > 0) {
    double h = std::min({dt, untilWander, untilStep});
    double before = t + theta;
    double warm = thermalFrequency();
    if (thermal) thermal->advance(t - start, h);
    t += h;
    theta += (f + (warm + thermalFrequency()) / 2 + correction) * h;
    dt -= h;
    untilWander -= h;
    untilStep -= h;
    if (untilStep <= 0) {
      f += p.frequencyStep;
      untilStep = INFINITY;
    }
    if (untilWander <= 0) {
      f += p.wander * gauss();
      untilWander += 1;
    }
    // The kernel's leap: when local time reaches midnight, repeat (or skip) a second.
    if (leap != 0 && std::floor(before / 86400) != std::floor((t + theta) / 86400)) {
      theta -= leap;
      leap = 0;
      waiting = true;
      ++leaps;
    }
  }
}

}  // namespace horloge::clockd
