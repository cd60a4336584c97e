#include "source-filter.h"
#include <algorithm>
#include <cmath>

namespace horloge::clockd {

void SourceFilter::add(const Sample& s) {
  ring[head] = s;
  head = (head + 1) % WINDOW;
  n = std::min(n + 1, WINDOW);
  ++added;
}

SourceStats SourceFilter::stats() const {
  SourceStats st;
  st.count = n;
  if (n == 0) return st;
  st.lastLocalNs = at(0).localNs;

  // Median of the newest few: robust to a single bad edge, quick to follow a step.
  std::array<double, MEDIAN_OF> recent{};
  size_t m = std::min(n, MEDIAN_OF);
  for (size_t i = 0; i < m; ++i) recent[i] = at(i).offset;
  std::sort(recent.begin(), recent.begin() + m);
  st.offset = m % 2 ? recent[m / 2] : (recent[m / 2 - 1] + recent[m / 2]) / 2;

  // Frequency: least-squares slope of offset against local time over the whole window.
  double t0 = at(n - 1).localNs * 1e-9;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = at(i).localNs * 1e-9 - t0, y = at(i).offset;
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  double den = n * sxx - sx * sx;
  double slope = (n >= 3 && den > 0) ? (n * sxy - sx * sy) / den : 0;
  st.frequency = slope * 1e6;

  // Jitter: RMS of the residuals from the fitted line, so a frequency error is not jitter.
  double intercept = (sy - slope * sx) / n, ss = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = at(i).localNs * 1e-9 - t0;
    double r = at(i).offset - (intercept + slope * x);
    ss += r * r;
  }
  st.jitter = n >= 2 ? std::sqrt(ss / n) : at(0).error;
  return st;
}

uint8_t SourceFilter::reach(int64_t nowNs) const {
  uint8_t r = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t age = nowNs - at(i).localNs;
    if (age < 0) age = 0;
    int64_t k = age / 1'000'000'000;
    if (k < 8) r |= uint8_t(1u << k);
  }
  return r;
}

}  // namespace horloge::clockd
