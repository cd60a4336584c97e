#include "temperature.h"
#include <algorithm>

namespace horloge::clockd {

namespace {
constexpr double MIN_WINDOWS = 30;    // half an hour of phase before a fit is believed
constexpr double SIGNIFICANT = 4;     // sigmas a coefficient must stand from zero
}

void TemperatureModel::reading(double t, double celsius) {
  if (!std::isfinite(celsius)) return;
  if (!haveReading) {
    if (std::isnan(reference)) reference = celsius;
    for (auto& l: lags) l.value = celsius;
    haveReading = true;
    integratedTo = t;
  } else {
    integrate(t);
    double dt = std::max(0.0, t - lastT);
    for (int k = 0; k < LAGS; ++k) {
      double keep = LAG[k] > 0 ? std::exp(-dt / LAG[k]) : 0;
      lags[k].value = celsius + (lags[k].value - celsius) * keep;
    }
  }
  last = celsius;
  lastT = t;
}

void TemperatureModel::integrate(double to) {
  if (!havePhase || !haveReading || to <= integratedTo) return;
  double dt = to - integratedTo;
  for (auto& l: lags) {
    double d = l.value - reference;
    l.i1 += d * dt;
    l.i2 += d * d * dt;
  }
  integratedTo = to;
}

void TemperatureModel::phase(double t, double phi) {
  if (!haveReading) return;
  if (!havePhase || t < windowStart) {
    havePhase = true;
    windowStart = integratedTo = t;
    windowPhi = phi;
    for (auto& l: lags) l.i1 = l.i2 = 0;
    return;
  }
  integrate(t);
  double span = t - windowStart;
  if (span < WINDOW) return;
  double y = (phi - windowPhi) / span;
  if (std::isnan(yRef)) yRef = y;
  y -= yRef;
  double w = span / WINDOW, forget = std::exp(-span / HORIZON);
  for (auto& l: lags) {
    double x[3] = {1, l.i1 / span, l.i2 / span};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) l.n[i][j] = l.n[i][j] * forget + w * x[i] * x[j];
      l.r[i] = l.r[i] * forget + w * x[i] * y;
    }
    l.yy = l.yy * forget + w * y * y;
    l.weight = l.weight * forget + w;
    l.i1 = l.i2 = 0;
  }
  // The range the fit has seen (the sensor's, while locked).
  low = std::min(low, last);
  high = std::max(high, last);
  windowStart = t;
  windowPhi = phi;
}

bool TemperatureModel::solve(int k, int dims, double out[3], double cov[3][3],
                             double& residual) const {
  const Lagged& l = lags[k];
  // Gauss-Jordan on [N | I], columns scaled so that pivots compare across units. With dims 2
  // the quadratic term is left out (0, and no variance).
  double a[3][6];
  double scale[3];
  for (int i = 0; i < 3; ++i) {
    out[i] = 0;
    for (int j = 0; j < 3; ++j) cov[i][j] = 0;
  }
  for (int i = 0; i < dims; ++i) scale[i] = l.n[i][i] > 0 ? 1 / std::sqrt(l.n[i][i]) : 0;
  for (int i = 0; i < dims; ++i) {
    if (scale[i] == 0) return false;
    for (int j = 0; j < dims; ++j) a[i][j] = l.n[i][j] * scale[i] * scale[j];
    for (int j = 0; j < dims; ++j) a[i][dims + j] = i == j;
  }
  for (int c = 0; c < dims; ++c) {
    int p = c;
    for (int i = c + 1; i < dims; ++i) if (std::fabs(a[i][c]) > std::fabs(a[p][c])) p = i;
    if (std::fabs(a[p][c]) < 1e-12) return false;
    for (int j = 0; j < 2 * dims; ++j) std::swap(a[c][j], a[p][j]);
    double d = a[c][c];
    for (int j = 0; j < 2 * dims; ++j) a[c][j] /= d;
    for (int i = 0; i < dims; ++i) {
      if (i == c) continue;
      double f = a[i][c];
      for (int j = 0; j < 2 * dims; ++j) a[i][j] -= f * a[c][j];
    }
  }
  double inv[3][3] = {};
  for (int i = 0; i < dims; ++i)
    for (int j = 0; j < dims; ++j) inv[i][j] = a[i][dims + j] * scale[i] * scale[j];
  for (int i = 0; i < dims; ++i)
    for (int j = 0; j < dims; ++j) out[i] += inv[i][j] * l.r[j];
  double rss = l.yy;
  for (int i = 0; i < dims; ++i) rss -= out[i] * l.r[i];
  residual = std::max(rss, 0.0) / std::max(1.0, l.weight - dims);
  for (int i = 0; i < dims; ++i)
    for (int j = 0; j < dims; ++j) cov[i][j] = inv[i][j] * residual;
  return true;
}

int TemperatureModel::best() const {
  int chosen = -1;
  double lowest = INFINITY;
  for (int k = 0; k < LAGS; ++k) {
    if (lags[k].weight < MIN_WINDOWS) continue;
    double beta[3], cov[3][3], residual;
    if (!solve(k, 3, beta, cov, residual)) continue;
    if (residual < lowest) lowest = residual, chosen = k;
  }
  return chosen;
}

TemperatureFit TemperatureModel::fit() const {
  TemperatureFit f;
  f.reference = reference;
  int k = best();
  if (k < 0) return f;
  double beta[3], cov[3][3], residual;
  solve(k, 3, beta, cov, residual);
  // A curvature not clearly seen is left out rather than extrapolated: a straight line is fitted.
  if (std::fabs(beta[2]) <= SIGNIFICANT * std::sqrt(std::max(cov[2][2], 0.0)))
    solve(k, 2, beta, cov, residual);
  f.lag = LAG[k];
  f.linear = beta[1];
  f.quadratic = beta[2];
  f.linearSigma = std::sqrt(std::max(cov[1][1], 0.0));
  f.quadraticSigma = std::sqrt(std::max(cov[2][2], 0.0));
  f.windows = lags[k].weight;
  bool seen = std::fabs(f.linear) > SIGNIFICANT * f.linearSigma ||
              std::fabs(f.quadratic) > SIGNIFICANT * f.quadraticSigma;
  f.active = seen && high - low >= MIN_SPAN;
  return f;
}

double TemperatureModel::frequency(double) const {
  if (!haveReading) return 0;
  TemperatureFit f = fit();
  if (!f.active) return 0;
  int k = 0;
  while (k < LAGS - 1 && LAG[k] != f.lag) ++k;
  return share(f, lags[k].value);
}

double TemperatureModel::share(const TemperatureFit& f, double celsius) const {
  // Beyond the range the fit has seen the parabola is a guess that grows with the square of
  // the distance (its curvature is the least known coefficient): its tangent at the edge.
  double d = celsius - reference;
  double e = std::clamp(d, low - reference, high - reference);
  return f.linear * e + f.quadratic * e * e + (f.linear + 2 * f.quadratic * e) * (d - e);
}

TemperatureModel::Mark TemperatureModel::mark() const {
  Mark m;
  for (int k = 0; k < LAGS; ++k) m.values[k] = lags[k].value;
  return m;
}

double TemperatureModel::changeSince(const Mark& m) const {
  if (!haveReading) return 0;
  TemperatureFit f = fit();
  if (!f.active) return 0;
  int k = 0;
  while (k < LAGS - 1 && LAG[k] != f.lag) ++k;
  if (std::isnan(m.values[k])) return 0;
  return share(f, lags[k].value) - share(f, m.values[k]);
}

TemperatureMemory TemperatureModel::memory() const {
  TemperatureMemory m;
  int k = best();
  if (k < 0) return m;
  m.reference = reference;
  m.yRef = yRef;
  m.lag = LAG[k];
  const Lagged& l = lags[k];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m.n[i][j] = l.n[i][j];
    m.r[i] = l.r[i];
  }
  m.yy = l.yy;
  m.weight = l.weight;
  m.low = low;
  m.high = high;
  return m;
}

void TemperatureModel::restore(const TemperatureMemory& m) {
  if (!std::isfinite(m.reference) || !(m.weight > 0)) return;
  int k = 0;
  while (k < LAGS - 1 && LAG[k] != m.lag) ++k;
  reference = m.reference;
  yRef = m.yRef;
  Lagged& l = lags[k];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) l.n[i][j] = m.n[i][j];
    l.r[i] = m.r[i];
  }
  l.yy = m.yy;
  l.weight = m.weight;
  low = m.low;
  high = m.high;
}

}  // namespace horloge::clockd
