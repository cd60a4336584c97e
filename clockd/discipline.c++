#include "discipline.h"
#include <algorithm>
#include <cmath>

namespace horloge::clockd {

Discipline::Discipline(DisciplineParams p)
    : params(p), f0Sigma(p.initialFrequencySigma), history(HISTORY) {}

void Discipline::setInitialFrequency(double frequency, double sigma) {
  f0 = frequency;
  f0Sigma = std::max(sigma, 1e-9);
}

void Discipline::reset(double t, double offset, double error, bool learnR) {
  if (n > 0) ++resets;
  // phaseCorrection() stays continuous across the first sample: until then the correction in
  // force at our start (a previous clockd's, kept by the kernel) was removing phase, and an
  // upstream's samples taken meanwhile were corrected for it. (Later resets come at tLast.)
  if (t > tLast) integral += removed(x1, tLast, t);
  x0 = offset;
  x1 = n > 0 ? x1 : f0;
  p00 = learnR ? std::max(error * error, r) : error * error;
  p01 = 0;
  p11 = n > 0 ? std::max(p11, 1e-12) : f0Sigma * f0Sigma;
  advanceTo(t);
  n = 1;
  consecutiveOutliers = run = 0;
  unmodelled = disputed = 0;
  temp.breakPhase();
  tempMark = temp.mark();
  bankReset();
  learnNoise(t, offset - integral, learnR);
}

Command Discipline::update(double t, double offset, double error, bool* accepted, double now) {
  return measure(t, offset, error, NAN, accepted, now);
}

Command Discipline::updateKnownNoise(double t, double offset, double sigma, bool* accepted,
                                     double now) {
  return measure(t, offset, sigma, sigma * sigma, accepted, now);
}

Command Discipline::measure(double t, double offset, double error, double rGiven,
                            bool* accepted, double now) {
  bool learnR = std::isnan(rGiven);
  if (accepted != nullptr) *accepted = true;
  if (std::isnan(now)) now = t;
  if (n == 0) {
    lastSample = t;
    reset(t, offset, error, learnR);
    return control(now);
  }
  // Since the last sample, not the last prediction: holdover's re-coasting predicts too.
  double gap = t - lastSample;
  lastSample = t;
  predictTo(t);

  // Measurement noise: the sample's own when known; else measured once there is enough
  // history, the source's claim before.
  double rUse = !learnR ? rGiven : rWeight >= 16 ? r : std::max(r, error * error);
  double nu = offset - x0, s = p00 + rUse;
  bool stepped = learnR && n > BANK_WARMUP && frequencyStep(nu, s, gap);
  s = p00 + rUse;
  // An innovation beyond 6 sigma is an outlier; several in a row mean the clock really moved
  // (another process stepped it): start again from the measurement.
  if (n > 8 && nu * nu > 36 * s) {
    ++outliers;
    disputed = std::max(disputed, std::fabs(offset));
    if (accepted != nullptr) *accepted = false;
    if (++consecutiveOutliers < 5) return {applied, 0};
    reset(t, offset, error, learnR);
    return control(now);
  }
  consecutiveOutliers = 0;
  // The shadows start scoring from the main filter's state once the first slew is over: the
  // start's transient would otherwise weigh against the small wanders for hours.
  if (n == BANK_WARMUP) bankReset();
  if (stepped) bankStep(offset);
  bankUpdate(offset, rUse);
  double k0 = p00 / s, k1 = p01 / s;
  x0 += k0 * nu;
  x1 += k1 * nu;
  double q00 = (1 - k0) * p00, q01 = (1 - k0) * p01, q11 = p11 - k1 * p01;
  p00 = q00; p01 = q01; p11 = q11;
  unmodelled = std::min(unmodelled, std::fabs(nu) + 3 * std::sqrt(rUse)) * (1 - k0);
  disputed = 0;
  ++n;
  learnNoise(t, offset - integral, learnR);
  temp.phase(t, offset - integral);
  return control(now);
}

// A frequency step (a load step heating the crystal) shows as a run of innovations beyond
// 2 sigma on one side that follow each other smoothly: after STEP_RUN of them (each within
// 4 sigma of the one before), the state gets the covariance of a step that started about as
// many samples ago, along (nu, nu / run), and the sample is taken in. The low wander the bank
// chose would otherwise take minutes to follow, while the 6-sigma rejection let the phase run
// for five samples more. Late samples (a loaded board's interrupt latency) are one-sided too,
// but jump: they break the run. A run that starts beyond the 6-sigma gate (the clock was
// stepped, or moved through a long holdover) is the restart's below, not a step's; so is one
// that starts on the first sample after a gap: the phase it shows ran for the whole gap, not
// for the run, and the slope nu / run would be believed far too steep (a holdover with a 1 ppm
// move, within 6 sigma of its grown uncertainty, then claimed 31 us with the truth 86 us off).
bool Discipline::frequencyStep(double nu, double s, double gap) {
  bool beyond = nu * nu > 4 * s;
  bool follows = beyond && run > 0 && (nu > 0) == (runFirst > 0) &&
                 (nu - runLast) * (nu - runLast) < 32 * s;
  runLast = nu;
  if (!follows) {
    run = beyond ? 1 : 0;
    runFirst = nu;
    runAfterGap = gap > MAX_STEP_GAP;
    for (auto& b: bank) b.runScore = 0;
    return false;
  }
  if (++run < STEP_RUN || runFirst * runFirst > 36 * s || runAfterGap) return false;
  stepUp(p00, p01, p11, nu);
  ++stepsSeen;
  return true;
}

// Correlated at 0.7, not 1: the slope is a guess (when the step began), and a covariance of
// rank one, taken in by one sample, left the phase 1-2 us off for a minute after it.
void Discipline::stepUp(double& c00, double& c01, double& c11, double nu) const {
  double slope = nu / run;
  c00 += nu * nu;
  c01 += 0.7 * nu * slope;
  c11 += slope * slope;
}

// The shadows see the same step, each by its own innovation; and the samples of the run
// were evidence of the step, not of the wander: their scores are taken back.
void Discipline::bankStep(double offset) {
  for (auto& b: bank) {
    stepUp(b.p00, b.p01, b.p11, offset - b.x0);
    b.score -= b.runScore;
    b.runScore = 0;
  }
  run = 0;
}

// Predicts to t with the corrections that were in force since the last update, and the
// temperature's share of the frequency as the learnt relation says it moved.
void Discipline::predictTo(double t) {
  double dt = std::max(t - tLast, 0.0);
  integral += removed(x1, tLast, tLast + dt);
  x0 += drift(x1, tLast, tLast + dt);
  p00 += 2 * dt * p01 + dt * dt * p11 + q * dt * dt * dt / 3;
  p01 += dt * p11 + q * dt * dt / 2;
  p11 += q * dt;
  bankPredict(dt);
  advanceTo(tLast + dt);
  unmodelled += params.maxClockError * dt;
  double warmer = temp.changeSince(tempMark);
  tempMark = temp.mark();
  x1 += warmer;
  for (auto& sh: bank) sh.x1 += warmer;
}

Command Discipline::control(double now) {
  Command c;
  // Steer from the offset when the command takes effect, not the offset at the sample.
  now = std::max(now, tLast);
  double x = x0 + drift(x1, tLast, now);
  bool windowOpen = params.stepLimit < 0 || updates < params.stepLimit;
  if (params.stepThreshold > 0 && windowOpen && std::fabs(x) > params.stepThreshold) {
    c.step = -x;
    integral += c.step;
    x0 += c.step;
    x = 0;
    for (auto& sh: bank) sh.x0 += c.step;   // the shadows see the same step
    // Local time itself jumps: keep every stored instant on the clock's new timescale.
    tLast += c.step;
    now += c.step;
    for (auto& ch: changes) ch.t += c.step;
    if (!std::isnan(slewEndAt)) slewEndAt += c.step;
    for (auto& p: history) p.t += c.step;
    ++steps;
  }
  ++updates;
  // Remove the frequency error now and the phase over slewTime.
  double frequencyOnly = std::clamp(-x1, -params.maxCorrection, params.maxCorrection);
  if (std::fabs(x) > params.fastSlewFrom) {
    c.correction = frequencyOnly + std::clamp(-x / params.slewTime, -params.maxSlewRate,
                                              params.maxSlewRate);
  } else {
    c.correction = std::clamp(-x1 - x / params.slewTime, -params.maxCorrection,
                              params.maxCorrection);
  }
  commandAt(now, c.correction);
  // The phase is out when x + (x1 + c) * d / (1 + x1 + c) = 0 (d local seconds); from then on
  // the frequency correction alone. Planned as a change, so that predictions count on it.
  double rate = x1 + c.correction;
  if (c.correction != frequencyOnly && rate * x < 0) {
    c.slewFor = -x * (1 + rate) / rate;
    slewEndAt = now + c.slewFor;
    afterSlew = frequencyOnly;
    changes.push_back({slewEndAt, afterSlew});
  }
  return c;
}

Command Discipline::coast(double now) {
  // With a temperature relation, holdover follows it: the state is predicted to now (called
  // again as the temperature moves), its frequency moved with the temperature.
  if (temp.active() && !std::isnan(now) && now > tLast) predictTo(now);
  commandAt(std::isnan(now) ? tLast : now,
            std::clamp(-x1, -params.maxCorrection, params.maxCorrection));
  return {applied, 0};
}

kj::Maybe<Command> Discipline::endSlew(double now) {
  if (std::isnan(slewEndAt)) return nullptr;
  commandAt(now, afterSlew);
  return Command{applied, 0};
}

// A command takes effect at `now`, not at its sample's time: until then the previous one is in
// force (changes after tLast are kept until a sample passes them; a handful at most). A new
// command replaces the planned end of the previous one's slew.
void Discipline::commandAt(double now, double c) {
  if (!std::isnan(slewEndAt)) {
    changes.pop_back();   // the plan is always the last change
    slewEndAt = NAN;
  }
  applied = c;
  now = std::max(now, changes.empty() ? tLast : changes.back().t);
  if (now <= tLast) before = c, changes.clear();
  else if (!changes.empty() && changes.back().t == now) changes.back().c = c;
  else changes.push_back({now, c});
  if (changes.size() > 32) before = changes.front().c, changes.erase(changes.begin());
}

double Discipline::phaseCorrection(double t) const {
  if (t >= tLast) return integral + removed(x1, tLast, t);
  return integral - before * (tLast - t) / (1 + x1 + before);
}

double Discipline::predictedOffset(double now) const {
  return x0 + drift(x1, tLast, std::max(now, tLast));
}

void Discipline::advanceTo(double t) {
  size_t k = 0;
  while (k < changes.size() && changes[k].t <= t) before = changes[k++].c;
  changes.erase(changes.begin(), changes.begin() + k);
  if (slewEndAt <= t) slewEndAt = NAN;   // passed: the command of this update replaces it
  tLast = t;
}

double Discipline::drift(double f, double a, double b) const {
  double sum = 0, c = before;
  for (const Change& ch: changes) {
    if (ch.t >= b) break;
    if (ch.t > a) sum += (f + c) * (ch.t - a) / (1 + f + c), a = ch.t;
    c = ch.c;
  }
  return b > a ? sum + (f + c) * (b - a) / (1 + f + c) : sum;
}

double Discipline::removed(double f, double a, double b) const {
  double sum = 0, c = before;
  for (const Change& ch: changes) {
    if (ch.t >= b) break;
    if (ch.t > a) sum += c * (ch.t - a) / (1 + f + c), a = ch.t;
    c = ch.c;
  }
  return b > a ? sum + c * (b - a) / (1 + f + c) : sum;
}

void Discipline::learnNoise(double t, double phi, bool learnR) {
  if (!learnR) {
    // Known noise: no history of regular samples to learn r from; the wander as below.
    if (params.fixedWander > 0) q = params.fixedWander * params.fixedWander;
    else if (n > 2 * BANK_WARMUP) q = bankQ;
    return;
  }
  history[head] = {t, phi};
  head = (head + 1) % HISTORY;
  size_t have = std::min<uint64_t>(n + 0, HISTORY);   // n counts this point already (or reset)
  auto regular = [&](size_t lag) {
    double a = back(0).t - back(lag).t, b = back(lag).t - back(2 * lag).t;
    return a > 0 && std::fabs(a - b) < 0.1 * a;
  };

  // r: second differences at lag one. An isolated wild value is clipped, not averaged in.
  if (have >= 3 && regular(1)) {
    double d = back(0).phi - 2 * back(1).phi + back(2).phi;
    double v = d * d / 6;
    if (rWeight >= 16) v = std::min(v, 30 * r);
    double lambda = 1 - 1.0 / 1024;
    rSum = lambda * rSum + v;
    rWeight = lambda * rWeight + 1;
    r = rSum / rWeight;
  }

  if (params.fixedWander > 0) { q = params.fixedWander * params.fixedWander; return; }
  if (n > 2 * BANK_WARMUP) q = bankQ;
}

void Discipline::bankReset() {
  for (auto& b: bank) b = {x0, x1, p00, p01, p11, 0, 0};
}

// Every shadow filter predicts, corrects and updates as the main one does, with its own q, and
// scores the Gaussian log-likelihood of its innovation. Over thousands of samples the likelihood
// separates wanders that no single-lag statistic can yet: at J = 8 us a wander of 1e-9 adds
// < 25 % to the noise term of the Hadamard variance at lag 512 s.
void Discipline::bankPredict(double dt) {
  for (int k = 0; k < BANK; ++k) {
    Shadow& b = bank[k];
    double qk = MIN_WANDER * MIN_WANDER * std::ldexp(1.0, k);
    b.x0 += drift(b.x1, tLast, tLast + dt);
    b.p00 += 2 * dt * b.p01 + dt * dt * b.p11 + qk * dt * dt * dt / 3;
    b.p01 += dt * b.p11 + qk * dt * dt / 2;
    b.p11 += qk * dt;
  }
}

void Discipline::bankUpdate(double offset, double rUse) {
  constexpr double LAMBDA = 1 - 1 / SCORE_HORIZON;
  int best = 0;
  for (int k = 0; k < BANK; ++k) {
    Shadow& b = bank[k];
    double nu = offset - b.x0, s = b.p00 + rUse;
    // A single wild innovation (a glitch the main filter did not reject) counts as 5 sigma.
    double term = -0.5 * (std::log(s) + std::min(nu * nu / s, 25.0));
    b.score = LAMBDA * b.score + term;
    if (run > 0) b.runScore += term;
    double k0 = b.p00 / s, k1 = b.p01 / s;
    b.x0 += k0 * nu;
    b.x1 += k1 * nu;
    double q00 = (1 - k0) * b.p00, q01 = (1 - k0) * b.p01, q11 = b.p11 - k1 * b.p01;
    b.p00 = q00; b.p01 = q01; b.p11 = q11;
    if (b.score > bank[best].score) best = k;
  }
  bankQ = MIN_WANDER * MIN_WANDER * std::ldexp(1.0, best);
}

double Discipline::errorBound(double now) const {
  double age = std::max(0.0, now - tLast);
  double overdue = std::isnan(slewEndAt) ? 0 : std::max(0.0, now - slewEndAt) * slewRate();
  return offsetLeft(now) + modelSpread(now) + unmodelled + params.maxClockError * age + overdue;
}

// The wander the filter steers with is the likeliest of the bank's, and minutes of samples
// hardly tell 1e-10 from 1e-9 (J = 1 us, 10 min locked: one start in four chose W <= 0.57e-9
// against a true 1e-9): believed as if known, it made the frequency look known to 1e-9 when it
// was 1.7e-8 off, and a 20 min holdover left 3 sigma by 13x. So the claim takes every wander the
// samples cannot rule out (a likelihood ratio within 3 sigma's, chi-square 9 on one parameter),
// each with the shadow filter that believed it: the truth is within 3 sigma of that shadow's
// prediction if its wander is the true one, and the bound is the widest of these envelopes
// around our own prediction. Hours of samples narrow the set to the wander there is.
double Discipline::modelSpread(double now) const {
  double age = std::max(0.0, now - tLast);
  double spread = 3 * predictedSigma(age);
  if (params.fixedWander > 0 || n <= BANK_WARMUP) return spread;
  double best = bank[0].score;
  for (const Shadow& b: bank) best = std::max(best, b.score);
  double ours = predictedOffset(now);
  for (int k = 0; k < BANK; ++k) {
    const Shadow& b = bank[k];
    if (b.score < best - PLAUSIBLE) continue;
    double qk = MIN_WANDER * MIN_WANDER * std::ldexp(1.0, k);
    double v = b.p00 + 2 * age * b.p01 + age * age * b.p11 + qk * age * age * age / 3;
    double theirs = b.x0 + drift(b.x1, tLast, std::max(now, tLast));
    spread = std::max(spread, std::fabs(theirs - ours) + 3 * std::sqrt(std::max(v, 0.0)));
  }
  return spread;
}

double Discipline::slewRate() const {
  if (std::isnan(slewEndAt)) return 0;
  // Per true second the offset moves by f + c; per local second by (f + c) / (1 + f + c).
  double slow = (1 - std::fabs(x1 + applied)) * (1 - std::fabs(x1 + afterSlew));
  return std::fabs(applied - afterSlew) / std::max(slow, 0.5);
}

double Discipline::predictedSigma(double age) const {
  return std::sqrt(std::max(0.0, p00 + 2 * age * p01 + age * age * p11 + q * age * age * age / 3));
}

Estimate Discipline::estimate() const {
  return {x0, x1, std::sqrt(std::max(p00, 0.0)), std::sqrt(std::max(p11, 0.0)), std::sqrt(r),
          std::sqrt(q)};
}

}  // namespace horloge::clockd
