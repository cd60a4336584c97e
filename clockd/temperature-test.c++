#include "temperature.h"
#include <doctest/doctest.h>
#include <cmath>
#include <cstdint>

using namespace horloge::clockd;

namespace {
constexpr double LINEAR = 0.25e-6, QUADRATIC = 0.005e-6;   // s/s per °C, per °C^2 (a Pi's)

// Two hours locked while the sensor swings over 40-50 °C, the crystal on the parabola about
// 45 °C with no lag; the phase read with 1 us of deterministic noise, as PPS gives it.
TemperatureModel locked(double quadratic) {
  TemperatureModel m;
  double phi = 0;
  uint32_t seed = 1;
  for (double t = 0; t < 7200; t += 10) {
    double c = 45 + 5 * std::sin(2 * M_PI * t / 3600);
    m.reading(t, c);
    seed = seed * 1664525 + 1013904223;
    m.phase(t, phi + (seed / 4294967296.0 - 0.5) * 2e-6);
    double d = c - 45;
    phi += (3e-6 + LINEAR * d + quadratic * d * d) * 10;
  }
  return m;
}
}  // namespace

TEST_CASE("temperature: beyond the range learnt, the relation goes on along its tangent") {
  TemperatureModel m = locked(QUADRATIC);
  TemperatureFit f = m.fit();
  REQUIRE(f.active);
  CHECK(f.linear == doctest::Approx(LINEAR).epsilon(0.02));
  CHECK(f.quadratic == doctest::Approx(QUADRATIC).epsilon(0.1));
  // Holdover: the sensor climbs to 60 °C, ten degrees past anything seen while locked.
  TemperatureModel::Mark at50;
  for (double t = 7200; t <= 9000; t += 10) {
    double c = 50 + 10 * (t - 7200) / 1800;
    m.reading(t, c);
    if (t == 7200) at50 = m.mark();
  }
  double edge = f.linear * 5 + f.quadratic * 25, slope = f.linear + 2 * f.quadratic * 5;
  CHECK(m.frequency(9000) == doctest::Approx(edge + slope * 10).epsilon(1e-6));
  // The parabola would have said f.linear * 15 + f.quadratic * 225: 0.5 ppm more than the
  // tangent, a guess of the curvature carried far from where it was measured.
  CHECK(m.frequency(9000) < f.linear * 15 + f.quadratic * 225 - 0.4e-6);
  CHECK(m.changeSince(at50) == doctest::Approx(slope * 10).epsilon(1e-6));
}

TEST_CASE("temperature: a curvature the fit cannot see is left out") {
  TemperatureModel m = locked(0);
  TemperatureFit f = m.fit();
  REQUIRE(f.active);
  CHECK(f.linear == doctest::Approx(LINEAR).epsilon(0.02));
  CHECK(f.quadratic == 0);
  CHECK(f.quadraticSigma == 0);
}
