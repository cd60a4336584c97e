// The accuracy benchmark of issue 5: the real discipline (clockd/discipline.h) fed PPS samples,
// paired to integer nanoseconds as refclockd pairs them, by the sim clock, on the grid of jitter J and
// wander W where chronyd's figures are known (design.md, "Numbers from the field").
//
//   horloge-discipline-sim [--seeds N] [--first-seed N] [--duration S] [--delay S] [--check]
//
// Prints one row per cell: RMS and max true offset after the warm-up, time to lock, RMS
// frequency error, and the ratio of our RMS offset to chronyd's. With --check it exits 1 when
// a cell is worse than the loose bounds the CTest test asserts (1.0x chronyd, lock < 120 s).
// See bench/discipline.md for the model, the definitions and the results.
#include "discipline.h"
#include "ntp-time.h"
#include "sim-clock.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

using namespace horloge;
using namespace horloge::clockd;

namespace {

struct Cell { double jitter, wander, chronyd; };
constexpr Cell GRID[] = {
  {0.1e-6, 1e-9, 169e-9}, {1e-6, 1e-9, 397e-9}, {8e-6, 1e-9, 1.80e-6},
  {1e-6, 1e-10, 164e-9}, {8e-6, 1e-10, 687e-9},
};

struct Result { double rms = 0, max = 0, lock = 0, freqRms = 0; };

constexpr double LOCK_THRESHOLD = 10e-6;   // |true offset| stays below this from lock on

// `delay`: each command is applied a uniform random 0..delay s after its sample, as when
// refclockd polls SHM (the daemon tells update() when; the kernel applies it then).
Result run(const Cell& cell, uint64_t seed, double duration, double warmup,
           const DisciplineParams& dp, double delay, double offset = 10e-3, bool trace = false) {
  SimClockParams sp;
  sp.offset = offset;
  sp.jitter = cell.jitter;
  sp.wander = cell.wander;
  sp.seed = seed;
  constexpr double START = 1'800'000'000;      // a 2027 Unix time: true time of the start
  SimClock clock(sp, START);
  Discipline d(dp);
  std::mt19937_64 late(seed);
  Result r;
  double sum2 = 0, fsum2 = 0, lastBad = 0;
  long count = 0;
  for (double s = 0; s < duration; s += 1) {
    // The PPS edge at the top of the true second, timestamped by the local clock with jitter.
    double local = clock.trueTime() + clock.jitteredOffset();
    // Paired as refclockd pairs it: integer nanoseconds, the reference is the true second.
    int64_t edgeNs = static_cast<int64_t>(std::llround(local * 1e9));
    int64_t secondNs = static_cast<int64_t>(std::llround(clock.trueTime())) * horloge::ntp::NS_PER_S;
    struct { int64_t systemTimeNs, referenceTimeNs; } pair{edgeNs, secondNs}, *p = &pair;
    double theta = clock.offset();
    if (std::fabs(theta) > LOCK_THRESHOLD) lastBad = s + 1;
    if (s >= warmup) {
      sum2 += theta * theta;
      fsum2 += clock.frequencyError() * clock.frequencyError();
      r.max = std::max(r.max, std::fabs(theta));
      ++count;
    }
    double wait = 0;
    if (p) {
      double offset = (p->systemTimeNs - p->referenceTimeNs) * 1e-9;
      double t = clock.localTime() - START;
      wait = delay * ((late() >> 11) * 0x1.0p-53);
      clock.advance(wait);
      Command c = d.update(t, offset, cell.jitter, nullptr, clock.localTime() - START);
      if (c.step != 0) clock.step(c.step);
      clock.setCorrection(c.correction);
      if (trace) {
        double now = clock.localTime() - START;
        printf("%6.0f true %+.6e predicted %+.6e 3sigma %.3e correction %+.6e\n", s,
               clock.offset(), d.predictedOffset(now), 3 * d.predictedSigma(0), c.correction);
      }
    }
    clock.advance(1 - wait);
  }
  r.rms = std::sqrt(sum2 / count);
  r.freqRms = std::sqrt(fsum2 / count);
  r.lock = lastBad;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 4, firstSeed = 1;
  double duration = 20000, warmup = 2000, delay = 0;
  bool check = false, oracle = false, trace = false;
  double offset = 10e-3;
  DisciplineParams dp;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--first-seed") && i + 1 < argc) firstSeed = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--duration") && i + 1 < argc) duration = atof(argv[++i]);
    else if (!strcmp(argv[i], "--slew") && i + 1 < argc) dp.slewTime = atof(argv[++i]);
    else if (!strcmp(argv[i], "--delay") && i + 1 < argc) delay = atof(argv[++i]);
    else if (!strcmp(argv[i], "--oracle")) oracle = true;   // the filter is told the true W
    else if (!strcmp(argv[i], "--offset") && i + 1 < argc) offset = atof(argv[++i]);
    else if (!strcmp(argv[i], "--trace")) trace = true;   // one seed of the first cell, per second
    else if (!strcmp(argv[i], "--makestep") && i + 1 < argc) {
      dp.stepThreshold = atof(argv[++i]);
      dp.stepLimit = 3;
    } else if (!strcmp(argv[i], "--check")) check = true;
    else {
      fprintf(stderr, "usage: %s [--seeds N] [--first-seed N] [--duration S] [--slew S] "
                      "[--delay S] [--makestep S] [--offset S] [--trace] [--check]\n", argv[0]);
      return 2;
    }
  }
  if (trace) {
    run(GRID[0], firstSeed, duration, duration, dp, delay, offset, true);
    return 0;
  }
  printf("%-8s %-7s %10s %10s %8s %12s %9s %9s\n", "J", "W", "rms", "max", "lock_s",
         "freq_rms", "chronyd", "ratio");
  bool ok = true;
  for (const Cell& cell: GRID) {
    Result sum;
    double ms2 = 0;
    for (int k = 0; k < seeds; ++k) {
      if (oracle) dp.fixedWander = cell.wander;
      Result r = run(cell, firstSeed + k, duration, warmup, dp, delay, offset);
      ms2 += r.rms * r.rms;
      sum.max = std::max(sum.max, r.max);
      sum.lock = std::max(sum.lock, r.lock);
      sum.freqRms += r.freqRms * r.freqRms;
    }
    double rms = std::sqrt(ms2 / seeds), freq = std::sqrt(sum.freqRms / seeds);
    double ratio = rms / cell.chronyd;
    printf("%-8.1e %-7.0e %8.1fns %8.1fns %8.0f %10.3fppb %7.0fns %9.2f\n", cell.jitter,
           cell.wander, rms * 1e9, sum.max * 1e9, sum.lock, freq * 1e9, cell.chronyd * 1e9, ratio);
    if (ratio > 1.0 || sum.lock > 120) ok = false;
  }
  if (check && !ok) {
    fprintf(stderr, "FAIL: a cell is worse than 1.0x chronyd or locks slower than 120 s\n");
    return 1;
  }
  return 0;
}
