#include "upstreams.h"
#include <algorithm>
#include <arpa/inet.h>
#include <cmath>
#include <cstdio>
#include <openssl/evp.h>

namespace horloge::clockd {

namespace {
constexpr double PHI = 15e-6;   // RFC 5905 dispersion growth, s/s
}

void ClockFilter::add(const NtpSample& s) {
  ring[head] = s;
  head = (head + 1) % SIZE;
  n = std::min(n + 1, SIZE);
  double d[SIZE];
  for (size_t i = 0; i < n; ++i) d[i] = at(i).delay;
  std::sort(d, d + n);
  fastest = d[0];
  gap = n >= 3 ? (d[2] - d[0]) / 2 : 0;
}

double ClockFilter::excess(const NtpSample& s) const {
  return std::max(0.0, s.delay - fastest) + gap;
}

double ClockFilter::corrected(const NtpSample& s, const NoiseModel& m) const {
  return s.phase - m.asymmetry * excess(s);
}

double ClockFilter::variance(const NtpSample& s, const NoiseModel& m) const {
  // Queueing split evenly at random over both directions is uniform over +-excess/2 (a third
  // of (excess/2)^2), all of it one way is exactly +-excess/2 (all of it); the half between
  // measured best under clknetsim (bench/relay.md). What the asymmetry explains is not noise.
  double half = excess(s) / 2;
  return m.base + half * half * 0.5 * (1 - 4 * m.asymmetry * m.asymmetry);
}

ClockFilter::Fit ClockFilter::fit(const NoiseModel& m) const {
  Fit f;
  f.count = n;
  if (n == 0) return f;
  f.atNs = at(0).localNs;
  f.phase = corrected(at(0), m);
  f.jitter = std::sqrt(m.base);
  if (n < 2) return f;
  auto t = [&](size_t i) { return (at(i).localNs - f.atNs) * 1e-9; };
  double sw = 0, st = 0, sp = 0;
  for (size_t i = 0; i < n; ++i) {
    double w = 1 / variance(at(i), m);
    sw += w;
    st += w * t(i);
    sp += w * corrected(at(i), m);
  }
  double tm = st / sw, pm = sp / sw, stt = 0, stp = 0;
  for (size_t i = 0; i < n; ++i) {
    double w = 1 / variance(at(i), m);
    stt += w * (t(i) - tm) * (t(i) - tm);
    stp += w * (t(i) - tm) * (corrected(at(i), m) - pm);
  }
  f.frequency = stt > 0 ? stp / stt : 0;
  f.phase = pm - f.frequency * tm;
  if (n < 3) return f;
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    double r = corrected(at(i), m) - (f.phase + f.frequency * t(i));
    ss += r * r;
  }
  f.jitter = std::max(f.jitter, std::sqrt(ss / double(n - 2)));
  return f;
}

double ClockFilter::solveBase(const NoiseModel& model, double floor) const {
  if (n < 4) return floor;
  NoiseModel m = model;
  m.base = floor;
  for (int round = 0; round < 3; ++round) {
    Fit f = fit(m);
    double res2[SIZE], v[SIZE], top = floor;
    NoiseModel delayOnly = m;
    delayOnly.base = 0;
    for (size_t i = 0; i < n; ++i) {
      double r = corrected(at(i), m) - (f.phase + f.frequency * (at(i).localNs - f.atNs) * 1e-9);
      res2[i] = r * r;
      v[i] = variance(at(i), delayOnly);
      top = std::max(top, res2[i] * double(n));
    }
    // The base is what the faster half of the window says: where the delay's part is small.
    // (The slower half's residuals measure how well the delay's part is modelled; counted in,
    // they let a model that overstates it there drive the base to the floor, and the fastest
    // replies were then trusted far beyond their error at 10 ms of queueing.)
    double sorted[SIZE];
    std::copy(v, v + n, sorted);
    std::sort(sorted, sorted + n);
    double cut = sorted[n / 2];
    size_t used = 0;
    for (size_t i = 0; i < n; ++i) used += v[i] <= cut;
    // sum(res2 / (b + v)) over them falls with b: bisect (in the logarithm: b spans decades)
    // for their share of the n - 2 degrees of freedom.
    double target = double(used) * double(n - 2) / double(n);
    auto excessChi2 = [&](double x) {
      double sum = 0;
      for (size_t i = 0; i < n; ++i) {
        if (v[i] <= cut) sum += res2[i] / (x + v[i]);
      }
      return sum - target;
    };
    if (excessChi2(floor) <= 0) return floor;
    double lo = floor, hi = top;
    for (int k = 0; k < 50; ++k) {
      double mid = std::sqrt(lo * hi);
      (excessChi2(mid) > 0 ? lo : hi) = mid;
    }
    m.base = std::sqrt(lo * hi);
  }
  return m.base;
}

ClockFilter::Asymmetry ClockFilter::solveAsymmetry(const NoiseModel& model) const {
  if (n < 4) return {};
  // Weighted least squares of phase = a + f t + beta excess, with the weights of the
  // symmetric model; beta's variance from the inverse of the normal matrix.
  NoiseModel m = model;
  m.asymmetry = 0;
  double A[3][3] = {}, b[3] = {};
  for (size_t i = 0; i < n; ++i) {
    double w = 1 / variance(at(i), m);
    double x[3] = {1, (at(i).localNs - at(0).localNs) * 1e-9, excess(at(i))};
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) A[r][c] += w * x[r] * x[c];
      b[r] += w * x[r] * at(i).phase;
    }
  }
  // A is symmetric positive (semi)definite: the inverse by cofactors.
  double c00 = A[1][1] * A[2][2] - A[1][2] * A[2][1];
  double c01 = A[1][2] * A[2][0] - A[1][0] * A[2][2];
  double c02 = A[1][0] * A[2][1] - A[1][1] * A[2][0];
  double det = A[0][0] * c00 + A[0][1] * c01 + A[0][2] * c02;
  // No spread of delays (or of times): nothing to say.
  if (!(std::fabs(det) > 0) || !std::isfinite(det)) return {};
  double i20 = c02 / det;
  double i21 = (A[0][1] * A[2][0] - A[0][0] * A[2][1]) / det;
  double i22 = (A[0][0] * A[1][1] - A[0][1] * A[1][0]) / det;
  double beta = i20 * b[0] + i21 * b[1] + i22 * b[2];
  double a0 = 0, a1 = 0;
  {
    // The plane's other coefficients, for the residuals' scale.
    double i00 = c00 / det, i01 = c01 / det, i02 = c02 / det;
    double i10 = c01 / det, i11 = (A[0][0] * A[2][2] - A[0][2] * A[2][0]) / det;
    double i12 = (A[0][2] * A[1][0] - A[0][0] * A[1][2]) / det;
    a0 = i00 * b[0] + i01 * b[1] + i02 * b[2];
    a1 = i10 * b[0] + i11 * b[1] + i12 * b[2];
  }
  double chi2 = 0;
  for (size_t i = 0; i < n; ++i) {
    double t = (at(i).localNs - at(0).localNs) * 1e-9;
    double r = at(i).phase - (a0 + a1 * t + beta * excess(at(i)));
    chi2 += r * r / variance(at(i), m);
  }
  // Never more certain than the model's weights say (a smaller scale, from residuals that the
  // plane explains too well, shrank the estimate less and did worse under clknetsim).
  double scale = std::max(1.0, chi2 / double(n - 3));
  if (!std::isfinite(beta) || !(i22 > 0)) return {};
  return {std::clamp(beta, -MAX_ASYMMETRY, MAX_ASYMMETRY), i22 * scale};
}

void UpstreamSource::add(int64_t localNs, double offset, double delay, double phaseNow) {
  filter.add({localNs, offset, delay, offset - phaseNow});
  if (filter.count() < MEASURE_BASE_FROM) {
    // Until the residuals can tell: the fastest reply may have queued for all of its delay.
    double half = filter.minDelay() / 2;
    model.base = std::max(BASE_FLOOR * BASE_FLOOR, half * half / 3);
  } else {
    // The window's estimates, averaged over the last HORIZON windows. The asymmetry is used
    // only as far as it stands out of its own noise, shrunk towards 0 by (2 sigma / value)^2:
    // on a symmetric path its noise would otherwise become a slow offset error of its own.
    // (Consecutive windows share all but one sample: their average is hardly better than one
    // window, so a window's variance stands for the average's.)
    constexpr double HORIZON = 32;
    learnt = std::min(learnt + 1, HORIZON);
    ClockFilter::Asymmetry a = filter.solveAsymmetry(model);
    asymmetry += (a.value - asymmetry) / learnt;
    asymmetryVariance += (std::min(a.variance, 1.0) - asymmetryVariance) / learnt;
    double a2 = asymmetry * asymmetry;
    model.asymmetry = a2 > 0 ? asymmetry * std::max(0.0, 1 - 4 * asymmetryVariance / a2) : 0;
    model.base += (filter.solveBase(model, BASE_FLOOR * BASE_FLOOR) - model.base) / learnt;
  }
  stats = filter.fit(model);
}

double UpstreamSource::offsetAt(int64_t nowNs, double phaseNow) const {
  if (stats.count == 0) return 0;
  return stats.phase + stats.frequency * (nowNs - stats.atNs) * 1e-9 + phaseNow;
}

double UpstreamSource::error(int64_t nowNs) const {
  if (filter.count() == 0) return 16;
  double age = std::max(0.0, (nowNs - stats.atNs) * 1e-9);
  return filter.minDelay() / 2 + rootDelay / 2 + rootDispersion + stats.jitter + PHI * age + 1e-6;
}

bool UpstreamSource::usable(int64_t nowNs) const {
  double interval = std::ldexp(1.0, poll);
  return heard && filter.count() >= 2 && !loop && !stopped && stratum >= 1 && stratum < 16 &&
         leap != 3 && (nowNs - lastNs) * 1e-9 < std::max(8.0, 3 * interval);
}

Candidate UpstreamSource::candidate(int64_t nowNs, double phaseNow) const {
  return {SourceKind::NTP, usable(nowNs), offsetAt(nowNs, phaseNow), error(nowNs), stats.jitter};
}

uint32_t refidOfAddress(kj::StringPtr address) {
  in_addr a4;
  if (inet_pton(AF_INET, address.cStr(), &a4) == 1) return ntohl(a4.s_addr);
  in6_addr a6;
  if (inet_pton(AF_INET6, address.cStr(), &a6) != 1) return 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(a6.s6_addr, 16, md, &len, EVP_md5(), nullptr);
  return (uint32_t(md[0]) << 24) | (uint32_t(md[1]) << 16) | (uint32_t(md[2]) << 8) | md[3];
}

bool isLoop(uint32_t refid, const std::vector<uint32_t>& own) {
  return refid != 0 && std::find(own.begin(), own.end(), refid) != own.end();
}

RelayHeader relayHeader(const UpstreamSource& s, int64_t nowNs) {
  double age = s.filter.count() > 0 ? std::max(0.0, (nowNs - s.stats.atNs) * 1e-9) : 0;
  return {static_cast<uint8_t>(std::min(16, s.stratum + 1)), refidOfAddress(s.address),
          s.rootDelay + s.filter.minDelay(),
          s.rootDispersion + s.stats.jitter + PHI * age};
}

kj::Maybe<kj::String> crossCheck(const Candidate& gps, const std::vector<Candidate>& peers) {
  int asked = 0, disagree = 0;
  double worst = 0;
  for (auto& p: peers) {
    if (!p.usable) continue;
    ++asked;
    double d = gps.offset - p.offset;
    if (std::fabs(d) > gps.error + p.error) {
      ++disagree;
      if (std::fabs(d) > std::fabs(worst)) worst = d;
    }
  }
  if (!gps.usable || asked == 0 || 2 * disagree <= asked) return nullptr;
  char buf[160];
  snprintf(buf, sizeof(buf),
           "GPS disagrees with %d of %d noselect peers by up to %+.6f s: GPS fault or spoofing "
           "suspected", disagree, asked, -worst);
  return kj::str(buf);
}

bool GpsAlarm::update(kj::Maybe<kj::String> verdict, int64_t nowNs) {
  bool disagree = verdict != nullptr;
  if (disagree == raised()) {
    KJ_IF_MAYBE(v, verdict) current = kj::mv(*v);   // still disagreeing: the newest figures
    pending = false;
    return false;
  }
  if (!pending) {
    pending = true;
    sinceNs = nowNs;
  }
  if ((nowNs - sinceNs) * 1e-9 < (raised() ? CLEAR_S : RAISE_S)) return false;
  KJ_IF_MAYBE(v, verdict) current = kj::mv(*v);
  else current = kj::str("");
  pending = false;
  return true;
}

}  // namespace horloge::clockd
