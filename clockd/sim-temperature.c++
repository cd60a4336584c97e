#include "sim-temperature.h"
#include <cmath>

namespace horloge::clockd {

namespace {
constexpr double SOC_LAG = 60;   // s: the die heats and cools within a minute or two
constexpr double DAY = 86400;
}

SimThermal::SimThermal(SimThermalParams p, uint64_t seed)
    : p(p), rng(seed ^ 0x7465'6d70'6572'6174ull), tc(soc(0)) {}

double SimThermal::soc(double elapsed) const {
  double t = p.base + p.diurnal * std::sin(2 * M_PI * (elapsed + p.dayPhase) / DAY);
  if (p.load != 0 && p.loadPeriod > 0) {
    // The square wave through the SoC's own first-order lag, in closed form: since the last
    // edge the temperature relaxes from where the previous half period left it.
    double half = p.loadPeriod / 2, k = std::exp(-half / SOC_LAG);
    double phase = std::fmod(elapsed, p.loadPeriod);
    bool on = phase < half;
    double since = on ? phase : phase - half;
    // Periodic steady state: the value at each edge (on: low, off: high).
    double low = p.load * k * (1 - k) / (1 - k * k), high = p.load * (1 - k) / (1 - k * k);
    // From the start (elapsed < one period) the first edge starts from 0 instead.
    double from = elapsed < half ? 0 : on ? low : high;
    double target = on ? p.load : 0;
    t += target + (from - target) * std::exp(-since / SOC_LAG);
  }
  return t;
}

void SimThermal::advance(double elapsed, double h) {
  double target = soc(elapsed + h / 2);
  tc = target + (tc - target) * std::exp(-h / p.lag);
}

double SimThermal::frequency() const {
  double d = tc - p.base;
  return p.linear * d + p.quadratic * d * d;
}

double SimThermal::reading(double elapsed) {
  double r = soc(elapsed) + p.noise * gauss(rng);
  return p.resolution > 0 ? std::round(r / p.resolution) * p.resolution : r;
}

}  // namespace horloge::clockd
