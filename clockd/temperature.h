// The crystal's frequency against its temperature, learnt online while the clock is locked (no
// table for the operator to fit, unlike chrony's `tempcomp`).
//
// A Pi's crystal moves about 0.25 ppm per °C on a parabola, and follows the SoC sensor with a
// thermal lag. The model, for the free-running phase phi of the clock (offset minus our own
// corrections):
//     dphi/dt = a + b d + c d^2,   d = T_lag(t) - reference
// where T_lag is the sensor's reading through a first-order lag. Each lag of a small bank
// keeps its own weighted recursive least squares fit of (a, b, c) over windows of the phase
// (one point a minute), forgotten over a day; the lag whose residuals are smallest is used. The
// relation is used (`active`) only once b or c is clearly non-zero and the temperature has
// moved enough to see it; otherwise nothing changes. c is kept only when it is itself clearly
// non-zero, and beyond the temperatures seen while locked the relation goes on along its
// tangent: a curvature guessed from a narrow range, carried far past it, did worse in a long
// holdover than no relation at all (bench/holdover.md).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace horloge::clockd {

struct TemperatureFit {
  double reference = NAN;         // °C the coefficients are about
  double lag = 0;                 // s, the crystal behind the sensor
  double linear = 0, quadratic = 0;             // s/s per °C, per °C^2
  double linearSigma = 0, quadraticSigma = 0;   // their 1-sigma
  double windows = 0;             // phase windows weighed in (forgotten)
  bool active = false;
};

// What a restart keeps (statedir/clockd.temperature): the best lag's normal equations.
struct TemperatureMemory {
  double reference = NAN, yRef = 0, lag = 0;
  double n[3][3] = {}, r[3] = {}, yy = 0, weight = 0;
  double low = INFINITY, high = -INFINITY;   // °C seen while the fit learnt
};

class TemperatureModel {
public:
  static constexpr double WINDOW = 60;            // s of phase per regression point
  static constexpr double HORIZON = 86400;        // s over which old windows are forgotten
  static constexpr double MIN_SPAN = 1;           // °C the temperature must have moved
  static constexpr int LAGS = 6;
  static constexpr std::array<double, LAGS> LAG = {0, 60, 150, 300, 600, 1200};

  // A sensor reading at local time t (seconds, the discipline's axis).
  void reading(double t, double celsius);
  // A free-running phase point of the locked clock (t, phi in s).
  void phase(double t, double phi);
  // Breaks the phase record (holdover, a reset): the next point starts a new window.
  void breakPhase() { havePhase = false; }
  // The temperature's share of the frequency at t (s/s, the b d + c d^2 of the best lag), 0 when
  // the relation is not active or no reading was had.
  double frequency(double t) const;
  // The lagged temperatures now, and how much the frequency changed since a mark, both ends
  // valued with the current fit (a refit alone moves nothing).
  struct Mark {
    std::array<double, LAGS> values;
    Mark() { values.fill(NAN); }
  };
  Mark mark() const;
  double changeSince(const Mark& m) const;
  bool active() const { return fit().active; }
  bool hasReading() const { return haveReading; }
  double lastReading() const { return last; }
  TemperatureFit fit() const;
  // What to persist, and starting from it (a restart: the same relation, at once).
  TemperatureMemory memory() const;
  void restore(const TemperatureMemory& m);

private:
  struct Lagged {
    double value = NAN;           // the sensor through this lag
    double i1 = 0, i2 = 0;        // integrals of d and d^2 over the current window
    // Weighted RLS of (a, b, c): normal equations, forgotten.
    double n[3][3] = {}, r[3] = {};
    double yy = 0;                // sum of weighted squared targets, for the residual
    double weight = 0;
  };
  std::array<Lagged, LAGS> lags;
  double reference = NAN, yRef = NAN;   // targets are kept about yRef: fewer cancelled digits
  bool haveReading = false, havePhase = false;
  double last = NAN, lastT = 0;
  double windowStart = 0, windowPhi = 0, integratedTo = 0;
  double low = INFINITY, high = -INFINITY;

  void integrate(double to);
  // Solves the normal equations of lag k for the first `dims` of (a, b, c), the others 0;
  // false when singular.
  bool solve(int k, int dims, double out[3], double cov[3][3], double& residual) const;
  int best() const;
  // The temperature's share of the frequency at a (lagged) reading.
  double share(const TemperatureFit& f, double celsius) const;
};

}  // namespace horloge::clockd
