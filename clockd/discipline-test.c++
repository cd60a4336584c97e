// Simulation tests: the real discipline on the sim clock, hours of simulated time in
// milliseconds. Bounds are loose on purpose (the benchmark, bench/discipline-sim.c++, reports
// the real figures); chronyd's figure for the main cell is 397 ns.
#include "discipline.h"
#include "leap-file.h"
#include "sim-clock.h"
#include <doctest/doctest.h>
#include <cmath>
#include <random>

using namespace horloge::clockd;

namespace {

struct Run { double rms = 0, lockAt = -1, last = 0; };

// One PPS sample a second for `seconds`; returns RMS true offset after `warmup`.
Run simulate(SimClock& clock, Discipline& d, double seconds, double warmup, double jitter) {
  Run r;
  double sum2 = 0;
  long n = 0;
  for (double s = 0; s < seconds; ++s) {
    double theta = clock.offset();
    if (std::fabs(theta) > 10e-6) r.lockAt = -1;
    else if (r.lockAt < 0) r.lockAt = s;
    if (s >= warmup) { sum2 += theta * theta; ++n; }
    Command c = d.update(clock.localTime(), clock.jitteredOffset(), jitter);
    clock.step(c.step);
    clock.setCorrection(c.correction);
    clock.advance(1);
  }
  r.rms = std::sqrt(sum2 / std::max(n, 1L));
  r.last = clock.offset();
  return r;
}

}  // namespace

TEST_CASE("discipline: J=1us W=1e-9 beats chronyd's 397 ns and locks within a minute") {
  SimClock clock({20e-6, 1e-9, 10e-3, 1e-6, 1});
  Discipline d;
  Run r = simulate(clock, d, 20000, 2000, 1e-6);
  CHECK(r.rms < 320e-9);
  CHECK(r.lockAt >= 0);
  CHECK(r.lockAt < 60);
  // The noise it measured is the noise there is.
  CHECK(d.estimate().jitter == doctest::Approx(1e-6).epsilon(0.1).scale(0));
}

TEST_CASE("discipline: a command applied late (told when) costs no lock time") {
  // As in the daemon, where refclockd polls SHM every 200 ms: each command takes effect up to
  // 0.2 s after its sample, with the old correction in force until then. Ignoring that cost
  // minutes of lock at J = 8 us (50 us per 0.1 s while slewing at 500 ppm).
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SimClock clock({20e-6, 1e-10, 10e-3, 8e-6, seed});
    Discipline d;
    double lastBad = 0;
    for (int s = 0; s < 600; ++s) {
      if (std::fabs(clock.offset()) > 10e-6) lastBad = s + 1;
      double t = clock.localTime(), offset = clock.jitteredOffset();
      double late = 0.05 * (1 + s % 4);
      clock.advance(late);
      Command c = d.update(t, offset, 8e-6, nullptr, clock.localTime());
      clock.setCorrection(c.correction);
      clock.advance(1 - late);
    }
    CHECK(lastBad < 35);   // the 10 ms alone take 21 s to slew at 500 ppm
    CHECK(d.restarts() == 0);
  }
}

TEST_CASE("discipline: deterministic for a seed") {
  SimClock a({20e-6, 1e-9, 10e-3, 8e-6, 42}), b({20e-6, 1e-9, 10e-3, 8e-6, 42});
  Discipline da, db;
  CHECK(simulate(a, da, 3000, 0, 8e-6).rms == simulate(b, db, 3000, 0, 8e-6).rms);
}

TEST_CASE("discipline: outliers are rejected, a real step is followed") {
  SimClock clock({20e-6, 1e-9, 0, 1e-6, 3});
  Discipline d;
  simulate(clock, d, 600, 0, 1e-6);
  bool accepted = true;
  d.update(clock.localTime(), clock.offset() + 0.5, 1e-6, &accepted);   // one wild sample
  CHECK_FALSE(accepted);
  CHECK(std::fabs(d.estimate().offset) < 10e-6);
  clock.step(0.02);   // another process steps the clock by 20 ms
  Run r = simulate(clock, d, 300, 0, 1e-6);
  CHECK(d.restarts() == 1);
  // The run of one-sided innovations a phase step makes is the restart's: taken for a frequency
  // step, its slope (20 ms over four samples) sent the clock off and a second restart followed.
  CHECK(d.frequencySteps() == 0);
  CHECK(std::fabs(r.last) < 10e-6);
}

// A load step on a Pi moves the crystal by about 1.25 ppm at once (5 degC at 0.25 ppm/degC), and a
// loaded board timestamps some PPS interrupts late. The step is followed within seconds, without
// a restart; the late samples alone are never taken for a step.
TEST_CASE("discipline: a frequency step is followed in seconds, late PPS samples are no step") {
  SimClockParams p{20e-6, 1e-10, 10e-3, 1e-6, 11};
  p.frequencyStep = 1.25e-6;
  p.frequencyStepAt = 1800;
  SimClock clock(p);
  Discipline d;
  std::mt19937_64 random(5);
  std::uniform_real_distribution<double> uniform(0, 1);
  double worst = 0, after = 0;
  for (int s = 0; s < 2400; ++s) {
    double late = uniform(random) < 0.05 ? 100e-6 * uniform(random) : 0;   // 5 %, 0-100 us
    Command c = d.update(clock.localTime(), clock.jitteredOffset() + late, 1e-6);
    clock.step(c.step);
    clock.setCorrection(c.correction);
    if (s == 1799) CHECK(d.frequencySteps() == 0);
    if (s > 1800) worst = std::max(worst, std::fabs(clock.offset()));
    if (s > 1830) after = std::max(after, std::fabs(clock.offset()));
    clock.advance(1);
  }
  MESSAGE("worst |offset| after the step: ", worst * 1e9, " ns; from 30 s on: ", after * 1e9,
          " ns");
  CHECK(d.frequencySteps() >= 1);
  CHECK(d.restarts() == 0);
  CHECK(worst < 10e-6);    // 8.3 us here (a late sample broke the first run)
  CHECK(after < 2e-6);     // 0.9 us here
}

TEST_CASE("discipline: holdover coasts on frequency and its predicted error covers the truth") {
  SimClock clock({20e-6, 1e-9, 10e-3, 1e-6, 7});
  Discipline d;
  simulate(clock, d, 4000, 0, 1e-6);
  d.coast();
  clock.setCorrection(d.appliedCorrection());
  double t0 = clock.localTime();
  for (int s = 1; s <= 3600; ++s) clock.advance(1);
  double age = clock.localTime() - t0;
  double predicted = d.predictedSigma(age);
  CHECK(predicted > d.predictedSigma(0));
  CHECK(predicted > d.predictedSigma(age / 2));
  CHECK(std::fabs(clock.offset()) < 4 * predicted);   // honest: the truth is inside 4 sigma
  CHECK(std::fabs(clock.offset()) < 1e-3);            // and an hour of holdover stays sub-ms
}

TEST_CASE("discipline: a leap second inserted through the (sim) kernel, with a 23:59:60 reading") {
  // 31 December 2016, 23:50 UTC; the leap table says 1 January 2017 gets TAI-UTC 37.
  constexpr int64_t MIDNIGHT = 1483228800;
  LeapTable table;
  table.entries = {{1435708800, 36}, {MIDNIGHT, 37}};
  table.expiresUnix = MIDNIGHT + 180 * 86400;
  SimClock clock({20e-6, 1e-9, 0, 1e-6, 5}, MIDNIGHT - 3600);
  Discipline d;
  // The GPS labels its seconds in UTC: 23:59:59, 23:59:60, 00:00:00. The Unix time of the
  // label 23:59:60 is that of 23:59:59 repeated, as the kernel's clock reads during the leap.
  double worst = 0;
  int sawSixty = 0;
  for (int s = 0; s < 3600 + 600; ++s) {
    int64_t label = MIDNIGHT - 3600 + s;            // UTC label as a count of seconds...
    bool sixty = label == MIDNIGHT;                 // ...the 3600th is 23:59:60
    int64_t unixOfLabel = label < MIDNIGHT ? label : label - 1;
    sawSixty += sixty;
    LeapStatus ls = leapStatus(table, static_cast<int64_t>(clock.localTime()));
    clock.setLeap(static_cast<int>(ls.kernel));
    // Local time at the edge minus the reference's Unix time.
    double localAtEdge = clock.localTime() + (clock.jitteredOffset() - clock.offset());
    double offset = localAtEdge - unixOfLabel;
    Command c = d.update(clock.localTime(), offset, 1e-6);
    clock.step(c.step);
    clock.setCorrection(c.correction);
    if (s > 600) worst = std::max(worst, std::fabs(offset));
    clock.advance(1);
  }
  CHECK(sawSixty == 1);
  CHECK(clock.leapsDone() == 1);
  CHECK(worst < 20e-6);
}

// The advertised error's core: at every second, from a cold start 1 s off, through a holdover
// in which the crystal moves by 1 ppm (beyond anything the model expects), and after the samples
// come back (the first ones refused as outliers), the true offset is within errorBound() plus
// three times the sample noise (which the hub adds as the measured jitter).
TEST_CASE("discipline: errorBound covers the truth from a cold start, through a 1 ppm step") {
  constexpr double J = 200e-9;
  // Several seeds: of seeds 1-40 the closest (11) came within 0.68 us of the bound, 5 within 1.1.
  for (uint64_t seed: {3, 5, 11, 32}) {
    CAPTURE(seed);
    SimClockParams p{20e-6, 1e-9, 1.0, J, seed};
    p.frequencyStep = 1e-6;
    p.frequencyStepAt = 600;
    SimClock clock(p);
    Discipline d;
    double worst = -1;
    auto check = [&](double now) {
      worst = std::max(worst, std::fabs(clock.offset()) - (d.errorBound(now) + 3 * J));
    };
    for (int s = 0; s < 1500; ++s) {
      bool gpsLost = s >= 600 && s < 900;
      if (!gpsLost) {
        Command c = d.update(clock.localTime(), clock.jitteredOffset(), J);
        clock.step(c.step);
        clock.setCorrection(c.correction);
      } else if (s == 600) {
        clock.setCorrection(d.coast(clock.localTime()).correction);
      }
      if (s > 30) check(clock.localTime());   // once the slew is done (before it: not claimed)
      clock.advance(0.5);
      if (s > 30) check(clock.localTime());
      clock.advance(0.5);
    }
    MESSAGE("seed ", seed, ": worst excess of |offset| over the bound: ", worst * 1e9, " ns");
    CHECK(worst <= 0);
    CHECK(std::fabs(clock.offset()) < 2e-6);   // and the clock recovered
    // The samples that come back 300 us off are a restart's, not a frequency step's: taken for
    // one, the step's slope (the offset over four samples) was believed and the truth left the
    // bound by 103 us.
    CHECK(d.frequencySteps() == 0);
  }
}

// The model's own honesty in a long holdover, with nothing beyond it (maxClockError 0, no
// frequency step): a board 1 s and 20 ppm off, locked for 10 minutes, then an hour without
// samples. Ten minutes of samples do not tell W = 1e-10 from the true 1e-9: with the likeliest
// wander believed as if known, these seeds left the bound by 12 to 172 us.
// Locked 10 minutes, then `holdS` seconds of holdover: the worst |offset| / (errorBound + 3 J).
double worstAfterShortLock(SimClock& clock, Discipline& d, double j, int holdS) {
  double worst = 0;
  for (int s = 0; s < 600 + holdS; ++s) {
    if (s < 600) {
      Command c = d.update(clock.localTime(), clock.jitteredOffset(), j);
      clock.step(c.step);
      clock.setCorrection(c.correction);
    } else if (s == 600) {
      clock.setCorrection(d.coast(clock.localTime()).correction);
    }
    clock.advance(1);
    if (s > 30) worst = std::max(worst, std::fabs(clock.offset()) / (d.errorBound(clock.localTime()) + 3 * j));
  }
  return worst;
}

TEST_CASE("discipline: errorBound covers a long holdover after a short lock, seeds 2 19 24 26") {
  constexpr double J = 1e-6;
  DisciplineParams dp;
  dp.maxClockError = 0;
  for (uint64_t seed: {2, 19, 24, 26}) {
    CAPTURE(seed);
    SimClock clock({20e-6, 1e-9, 1.0, J, seed});
    Discipline d(dp);
    double worst = worstAfterShortLock(clock, d, J, 3600);
    MESSAGE("seed ", seed, ": worst |offset| / bound ", worst);
    CHECK(worst <= 1);
  }
  // The case that showed it, with the default maxClockError: a 1 ppm step at the loss takes
  // all of it, and the model's share must cover the rest through 20 minutes.
  for (uint64_t seed: {2, 26}) {
    CAPTURE(seed);
    for (double jump: {-1e-6, 1e-6}) {
      CAPTURE(jump);
      SimClockParams p{20e-6, 1e-9, 1.0, J, seed};
      p.frequencyStep = jump;
      p.frequencyStepAt = 600;
      SimClock clock(p);
      Discipline d;
      double worst = worstAfterShortLock(clock, d, J, 1200);
      CHECK(worst <= 1);
    }
  }
}

TEST_CASE("discipline: a slew ended late (clockd starved) is covered by errorBound") {
  // 1 s off at maxslewrate: the slew is planned to end after about 12 s. Its timer fires
  // 0.5 s late: the clock has gone on slewing, 42 ms past true time.
  // A board 1 s and 20 ppm off, its drift file known (wander on, as in every sim run).
  SimClock clock({20e-6, 1e-9, 1.0, 0, 3});
  Discipline d;
  d.setInitialFrequency(20e-6, 1e-8);
  Command c = d.update(clock.localTime(), clock.offset(), 1e-6);
  clock.setCorrection(c.correction);
  REQUIRE(c.slewFor > 10);
  CHECK(d.slewRate() >= 83333.333e-6);
  CHECK(d.slewRate() < 0.1);
  clock.advance(c.slewFor / (1 + clock.frequencyError()));   // slewFor counts local seconds
  CHECK(std::fabs(clock.offset()) < 1e-6);
  CHECK(d.errorBound(clock.localTime()) < 5e-3);   // 3 sigma of the frequency, over 11 s
  clock.advance(0.5);
  double late = clock.localTime();
  CHECK(std::fabs(clock.offset()) > 0.04);
  CHECK(d.errorBound(late) >= std::fabs(clock.offset()));
  // Ended now: the prediction knows how far it went, and so does the bound.
  KJ_IF_MAYBE(e, d.endSlew(late)) clock.setCorrection(e->correction);
  CHECK(d.slewRate() == 0);
  CHECK(d.predictedOffset(late) == doctest::Approx(clock.offset()).epsilon(1e-6));
  clock.advance(1);
  CHECK(d.errorBound(clock.localTime()) >= std::fabs(clock.offset()));
}
