// The sim clock's temperature (issue: the offline appliance): what a Raspberry Pi's crystal
// goes through and what its SoC sensor reads.
//   - the SoC: a base temperature, a day's sine swing, and a load that comes and goes (a square
//     wave, reached with the SoC's own time constant of a minute);
//   - the crystal follows the SoC with a thermal lag (first order, `lag` seconds);
//   - its frequency error follows a parabola in its temperature about `base`;
//   - the sensor reads the SoC with Gaussian noise, rounded to its resolution.
// A pure function of the time since the start but for the crystal's lag (a state) and the
// sensor noise (its own generator, so that the clock's sequence is the same with or without).
#pragma once
#include <cstdint>
#include <random>

namespace horloge::clockd {

struct SimThermalParams {
  bool enabled = false;
  double base = 45;               // °C, the SoC at rest
  double diurnal = 0;             // °C, amplitude of the 24 h swing...
  double dayPhase = 0;            // ...s into its day at the start (0: rising through base)
  double load = 0;                // °C the SoC gains under load...
  double loadPeriod = 3600;       // ...during the first half of each period of this many s
  double lag = 300;               // s, the crystal's time constant behind the SoC
  double noise = 0.1;             // °C, 1-sigma of a sensor reading
  double resolution = 0.1;        // °C
  double linear = 0.25e-6;        // s/s per °C about `base` (a Pi's crystal: ~0.25 ppm/°C)
  double quadratic = 0.005e-6;    // s/s per °C² about `base`
};

class SimThermal {
public:
  SimThermal(SimThermalParams p, uint64_t seed);

  // The SoC's true temperature `elapsed` s after the start.
  double soc(double elapsed) const;
  // Advances the crystal from `elapsed` by h seconds (h small against the lags).
  void advance(double elapsed, double h);
  double crystal() const { return tc; }
  void setCrystal(double c) { tc = c; }
  // The oscillator's frequency error due to temperature, s/s.
  double frequency() const;
  // What the sensor reads `elapsed` s after the start.
  double reading(double elapsed);

  const SimThermalParams& params() const { return p; }

private:
  SimThermalParams p;
  std::mt19937_64 rng;
  std::normal_distribution<double> gauss{0.0, 1.0};
  double tc;
};

}  // namespace horloge::clockd
