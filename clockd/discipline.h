// The clock discipline: a two-state Kalman filter (offset, frequency) whose noise levels are
// measured from the samples themselves, and a control law that turns its estimate into a
// frequency correction (and, under `makestep`, a step).
//
// Model (the one the sim clock implements and PPS + a crystal obey):
//   offset' = frequencyError + correction      (seconds per second)
//   frequencyError is a random walk: variance grows by q per second ("wander", W = sqrt(q))
//   a sample measures offset plus white noise of variance r ("jitter", J = sqrt(r))
// q and r are not configured: r comes from the second differences of the free-running phase at
// lag one sample; q is chosen by a bank of shadow Kalman filters, one per candidate wander, each
// scored by the likelihood of its own innovations over the last few thousand samples (multiple-
// model estimation). See bench/discipline.md for why this beat the alternatives measured.
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <kj/common.h>
#include <vector>
#include "temperature.h"

namespace horloge::clockd {

struct DisciplineParams {
  double maxCorrection = 500e-6;  // |frequency correction|, s/s: the kernel's ADJ_FREQUENCY limit
  double slewTime = 2;            // seconds over which an estimated offset is slewed out
  // An offset larger than `fastSlewFrom` is slewed out at up to `maxSlewRate` on top of the
  // frequency correction (chrony's `maxslewrate`, same default: the kernel's tick length gives
  // up to 10 %): at 500 ppm a board booted 1 s off needs 33 minutes, at this rate 12 s; and the
  // server claims nothing until the slew is done. The last millisecond keeps within
  // maxCorrection in all: the frequency estimate settles meanwhile.
  double fastSlewFrom = 1e-3;
  double maxSlewRate = 83333.333e-6;   // the `maxslewrate` directive
  double stepThreshold = 0;       // makestep: step when |offset| exceeds this (0: never)
  int stepLimit = 0;              // ... during the first this many updates (-1: always)
  double initialFrequencySigma = 100e-6;   // without a drift file
  double fixedWander = 0;         // W for the filter; 0: measured (tests and benchmarks only)
  // What the model cannot see (temperature, load): the frequency may be this far off beyond
  // its estimate, s/s (chrony's maxclockerror). Only widens errorBound(), never steers.
  double maxClockError = 1e-6;
};

// What the clock backend should do after an update.
struct Command {
  double correction = 0;          // total frequency correction to apply now, s/s
  double step = 0;                // seconds to add to the clock now (0: none)
  // The phase part of `correction` is done `slewFor` seconds after the command is applied; the
  // caller then calls endSlew(), which returns the frequency-only command. 0: no slew. With
  // one sample a second and slewTime 2 s the next sample always comes first; at a relay's
  // poll intervals (2 to 1024 s) a correction kept until the next sample would overshoot the
  // offset it was computed for many times over.
  double slewFor = 0;
};

// Statistics of the estimate, for the status and the advertised dispersion.
struct Estimate {
  double offset = 0;              // s, local minus reference, after the update
  double frequency = 0;           // s/s, free-running frequency error of the local clock
  double offsetSigma = 0;         // s
  double frequencySigma = 0;      // s/s
  double jitter = 0;              // s, measured sample noise (sqrt r)
  double wander = 0;              // s/s per sqrt(s) (sqrt q)
};

class Discipline {
public:
  explicit Discipline(DisciplineParams p = {});

  // Starts from a known frequency error (drift file) instead of an unknown one.
  void setInitialFrequency(double frequency, double sigma);
  // The correction already applied when we start at local time `t` (e.g. the kernel's, after a
  // restart): phaseCorrection() counts what it removes from `t`, not from the epoch.
  void setAppliedCorrection(double c, double t) {
    applied = before = c;
    changes.clear();
    tLast = t;
  }
  // Steps already made (persisted across restarts so the step window does not reopen).
  void setUpdatesDone(int n) { updates = n; }

  // One sample: at local time `t` (seconds, any epoch but monotonic with the samples), the
  // clock was `offset` seconds ahead of the reference, with a 1-sigma `error` claimed by the
  // source. Returns the new command, which the caller applies at local time `now` (>= t; NaN:
  // at t); `accepted` is false for a rejected outlier. A sample polled from SHM and passed over
  // IPC is used up to a few hundred ms late, and the old correction is in force until then:
  // while slewing at 500 ppm each 0.1 s of that is 50 us the filter must not take for noise.
  Command update(double t, double offset, double error, bool* accepted = nullptr,
                 double now = NAN);

  // The same for a sample whose noise is known from how it was taken (an NTP exchange: its
  // delay bounds its error) rather than learnt from its neighbours: `sigma` is its 1-sigma
  // error, and the noise of regular samples (sqrt r) is neither used nor changed.
  Command updateKnownNoise(double t, double offset, double sigma, bool* accepted = nullptr,
                           double now = NAN);

  // The slew of the last command is over: the command to apply at local time `now`, the
  // frequency correction alone. Empty when no slew is in progress (a later sample or coast()
  // replaced it).
  kj::Maybe<Command> endSlew(double now);
  // Local time the current slew ends (NaN: none), for the caller's timer.
  double slewEnd() const { return slewEndAt; }
  // How fast the clock moves beyond the correction kept after the slew (0: no slew): what each
  // second of a late endSlew() adds to the offset at most, counted in true or in local seconds.
  double slewRate() const;

  // Times are the disciplined clock's own readings: after a step, the next sample's time is
  // shifted by the step, and so is every instant kept here.
  // A temperature reading at local time `t` (°C): the crystal's frequency against it is learnt
  // while samples come (temperature.h) and, once the relation is clear, its changes are fed
  // forward into the prediction: between samples and through holdover.
  void temperature(double t, double celsius) { temp.reading(t, celsius); }
  const TemperatureModel& temperatureModel() const { return temp; }
  TemperatureModel& temperatureModel() { return temp; }

  // Holdover: the command without samples (keep the frequency, stop steering the phase),
  // applied at local time `now` (NaN: at the last update); again as the temperature moves.
  Command coast(double now = NAN);

  // The predicted 1-sigma offset error `age` seconds after the last update.
  double predictedSigma(double age) const;
  // The offset predicted at local time `now` (>= the last update) with the corrections in
  // force and planned: what is still to be slewed out.
  double predictedOffset(double now) const;
  // What is left to slew at `now`, as far as we know: the prediction, or, while recent samples
  // are being refused as outliers, the offset they measured (they may be right).
  double offsetLeft(double now) const { return std::max(std::fabs(predictedOffset(now)), disputed); }
  // A bound on the clock's |offset| at `now`: what is left, 3 sigma of the prediction under
  // every wander the samples cannot yet rule out (modelSpread), the unmodelled part
  // (maxClockError over the time since the samples last told us otherwise), and a slew past its
  // planned end (the caller has not ended it yet: the clock still slews).
  double errorBound(double now) const;
  // How far the truth may be from predictedOffset(now): 3 sigma of our prediction, or of a
  // shadow filter's whose wander is still plausible plus how far its prediction is from ours.
  double modelSpread(double now) const;

  Estimate estimate() const;
  // Phase removed by our corrections and steps since the start, up to local time t (before
  // the last update: extrapolated back with the correction in force then).
  double phaseCorrection(double t) const;
  bool started() const { return n > 0; }
  int updatesDone() const { return updates; }
  int stepsDone() const { return steps; }
  double lastUpdate() const { return tLast; }
  double appliedCorrection() const { return applied; }
  uint64_t rejected() const { return outliers; }
  uint64_t restarts() const { return resets; }
  uint64_t frequencySteps() const { return stepsSeen; }

private:
  DisciplineParams params;
  // State: x0 offset (s), x1 frequency error (s/s); P its covariance.
  double x0 = 0, x1 = 0;
  double p00 = 0, p01 = 0, p11 = 0;
  double f0 = 0, f0Sigma;         // initial frequency and its sigma
  double applied = 0;             // the last correction commanded
  // The corrections in force after tLast: `before` until the first change, each change from
  // its local time on (a command takes effect when applied, not at its sample's time).
  struct Change { double t, c; };
  double before = 0;
  std::vector<Change> changes;
  double slewEndAt = NAN;         // the planned end of the current slew (one of `changes`)
  double afterSlew = 0;           // the correction from then on
  double tLast = 0;
  uint64_t n = 0;
  int updates = 0, steps = 0;
  int consecutiveOutliers = 0;
  // Frequency steps: the current run of one-sided innovations beyond 2 sigma (frequencyStep()).
  static constexpr int STEP_RUN = 4;
  int run = 0;
  double runFirst = 0, runLast = 0;
  bool runAfterGap = false;   // the run began on the first sample after a gap
  double lastSample = 0;
  // Longer than this since the last sample is a gap (PPS: one a second, some lost).
  static constexpr double MAX_STEP_GAP = 4;
  uint64_t stepsSeen = 0;
  bool frequencyStep(double nu, double s, double gap);
  void stepUp(double& c00, double& c01, double& c11, double nu) const;
  void bankStep(double offset);
  uint64_t outliers = 0, resets = 0;
  // maxClockError's share at tLast: grown over each prediction; after an accepted sample, at
  // most what its innovation allows (the innovation observes the prior's error, up to the
  // noise), shrunk by the part of it the update took in.
  double unmodelled = 0;
  double disputed = 0;            // |offset| of the samples refused since the last accepted one
  TemperatureModel temp;
  TemperatureModel::Mark tempMark;   // the lagged temperatures the state was last predicted at
  void predictTo(double t);

  // Noise estimation on the free-running phase phi = offset - (integral of corrections).
  double integral = 0;            // integral of applied corrections and steps, s
  struct Point { double t, phi; };
  std::vector<Point> history;     // ring, HISTORY long
  size_t head = 0;
  static constexpr size_t HISTORY = 4;
  double rSum = 0, rWeight = 0;
  double r = 0, q = 1e-18;
  // Below this the wander is not measurable in hours of samples, and a filter that believes in
  // an even steadier clock follows a real change too slowly (one seed in eight on the bench).
  static constexpr double MIN_WANDER = 1e-10;

  // The wander: shadow filters with q = MIN_WANDER^2 * 2^k (W up to 2^10 MIN_WANDER), run on
  // the same samples and corrections; each scores the log-likelihood of its innovations,
  // forgotten over SCORE_HORIZON samples; the best score's q is the main filter's.
  // runScore: the score terms of the current run of one-sided innovations (frequencyStep()).
  struct Shadow { double x0 = 0, x1 = 0, p00 = 0, p01 = 0, p11 = 0, score = 0, runScore = 0; };
  static constexpr int BANK = 21;
  static constexpr double SCORE_HORIZON = 4096;
  static constexpr uint64_t BANK_WARMUP = 64;   // samples before the bank starts scoring
  std::array<Shadow, BANK> bank{};
  double bankQ = 1e-18;
  // A wander is plausible while its score is within this of the best (half of chi-square 9).
  static constexpr double PLAUSIBLE = 4.5;
  void bankReset();
  void bankPredict(double dt);
  void bankUpdate(double offset, double rUse);

  void reset(double t, double offset, double error, bool learnR);
  Command measure(double t, double offset, double error, double rGiven, bool* accepted,
                  double now);
  // Offset change from local time a to b (>= a) for a free-running frequency error f, with the
  // corrections in force then; and the part of it our corrections made. Rates are per second of
  // reference time, intervals are measured in local seconds: 1 + f + c of them per reference
  // second (at 480 ppm, ignoring this is a 0.23 ppm bias in the frequency learnt while slewing).
  double drift(double f, double a, double b) const;
  double removed(double f, double a, double b) const;
  void advanceTo(double t);
  void commandAt(double now, double c);
  void learnNoise(double t, double phi, bool learnR);
  const Point& back(size_t age) const { return history[(head + HISTORY - 1 - age) % HISTORY]; }
  Command control(double now);
};

}  // namespace horloge::clockd
