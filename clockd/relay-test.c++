// The relay's closed loop on the sim clock: three servers (one 50 ms off) over a simulated
// network with queueing, the relay's rules (relay.h), clockd's selection (sources.h) and the
// discipline, minutes of simulated
// time in milliseconds. Bounds are loose on purpose; bench/relay.md has the figures under
// clknetsim beside chronyd.
#include "relay.h"
#include "sim-clock.h"
#include "sources.h"
#include <doctest/doctest.h>
#include <cmath>
#include <random>

using namespace horloge::clockd;

namespace {

constexpr double START = 1'800'000'000;   // true time of the start, Unix s

struct Net {
  double base = 100e-6;     // each way
  double queue = 50e-6;     // mean exponential queueing, each way
};

struct Run {
  double worstAfter = 0;        // max |true offset| after `settle`
  double convergedAt = -1;      // from then on |true offset| < 100 us
  int dishonest = 0;            // moments claimed bounded while the truth was outside the claim
  int bounded = 0;              // moments claimed bounded
  double firstBounded = -1;     // s
  int followedFalseticker = 0;  // moments claimed bounded while following server 0
  std::vector<Mark> marks;
};

// The relay polls each server every `poll` s (4 requests 2 s apart first, as iburst), and is
// looked at every 0.25 s of true time.
// `syncAt`: when each server starts answering synchronised (LI=3, stratum 16 before).
Run relay(SimClockParams clockParams, DisciplineParams dp, const std::vector<double>& serverOffsets,
          Net net, double seconds, double settle, int poll = 1, std::vector<double> syncAt = {}) {
  syncAt.resize(serverOffsets.size(), 0);
  SimClock clock(clockParams, START);
  Discipline d(dp);
  Sources sources;   // the servers are its upstreams 0..n-1; selection as clockd's
  size_t servers = serverOffsets.size();
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> next(servers);
  std::vector<int> sent(servers, 0);
  for (size_t k = 0; k < next.size(); ++k) next[k] = 0.01 * double(k);
  SourceId chosen;
  Run run;
  auto ns = [](double s) { return static_cast<int64_t>(std::llround(s * 1e9)); };
  auto local = [&]() { return clock.localTime(); };
  SourceId falseticker = serverOffsets[0] != 0 ? SourceId::upstream(0) : SourceId();
  for (double t = 0; t < seconds; t += 0.25) {
    double target = START + t;
    // Advance to `target`, stopping to end a slew on time, as the hub's timer does.
    while (clock.trueTime() < target) {
      double end = d.slewEnd();
      double step = target - clock.trueTime();
      if (!std::isnan(end) && end - local() < step) step = std::max(end - local(), 0.0) + 1e-6;
      clock.advance(step);
      if (d.slewEnd() <= local()) {
        KJ_IF_MAYBE(c, d.endSlew(local())) clock.setCorrection(c->correction);
      }
    }
    for (uint8_t k = 0; k < servers; ++k) {
      if (t < next[k]) continue;
      next[k] = t + (sent[k]++ < 4 ? 2 : std::ldexp(1.0, poll));
      double out = net.base + net.queue * expo(rng), back = net.base + net.queue * expo(rng);
      double t1 = local();
      double t2 = clock.trueTime() + out + serverOffsets[k];
      clock.advance(out + back);
      double t4 = local();
      UpstreamReport r;
      r.address = kj::str("198.18.0.", k + 1);
      r.poll = static_cast<int8_t>(poll);
      r.valid = true;
      r.t1Ns = ns(t1);
      r.t2Ns = r.t3Ns = ns(t2);
      r.t4Ns = ns(t4);
      r.stratum = t >= syncAt[k] ? 1 : 16;
      r.leap = t >= syncAt[k] ? 0 : 3;
      r.rootDispersion = 30e-6;
      UpstreamSource& u = sources.upstream(k);
      takeReport(u, r, 0, d.phaseCorrection(t4), {});
      chosen = sources.select(r.t4Ns, d.phaseCorrection(t4));
      if (chosen.none() || !steers(sources.upstreamMark(k))) continue;
      const NtpSample& s = u.filter.newest();
      Command cmd = d.updateKnownNoise(t4, u.offsetOf(s), u.sigma(s), nullptr, t4);
      clock.step(cmd.step);
      clock.setCorrection(cmd.correction);
    }
    double theta = clock.offset();
    if (std::fabs(theta) >= 100e-6) run.convergedAt = -1;
    else if (run.convergedAt < 0) run.convergedAt = t;
    if (t >= settle) run.worstAfter = std::max(run.worstAfter, std::fabs(theta));
    // What a relay following `chosen` would claim now, when it claims anything.
    if (chosen.isUpstream() &&
        relayBounded(sources.upstream(chosen.index()), d, ns(local()), local())) {
      ++run.bounded;
      if (run.firstBounded < 0) run.firstBounded = t;
      // As clockd's header: the relay's root distance and our own error bound.
      RelayHeader h = relayHeader(sources.upstream(chosen.index()), ns(local()));
      double claim = h.rootDelay / 2 + h.rootDispersion + d.errorBound(local());
      // The truth (the good servers are true time).
      if (std::fabs(theta) > claim) ++run.dishonest;
      if (chosen == falseticker) ++run.followedFalseticker;
    }
  }
  for (uint8_t k = 0; k < servers; ++k) run.marks.push_back(sources.upstreamMark(k));
  return run;
}

}  // namespace

TEST_CASE("relay: from 10 ms and 20 ppm off to under 100 us in 5 minutes, the falseticker out") {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SimClockParams p;   // the default sim model: 10 ms, 20 ppm, wander 1e-9
    p.seed = seed;
    Run r = relay(p, {}, {0.050, 0, 0}, {}, 1200, 300);
    CAPTURE(seed);
    CHECK(r.convergedAt >= 0);
    CHECK(r.convergedAt < 300);
    CHECK(r.worstAfter < 100e-6);
    CHECK(r.marks[0] == Mark::FALSETICKER);
    CHECK(steers(r.marks[1]));
    CHECK(steers(r.marks[2]));
    CHECK(r.dishonest == 0);
    CHECK(r.firstBounded > 0);
  }
}

TEST_CASE("relay: a falseticker that locks first is not followed while the others start") {
  // The Stratum-1 50 ms off answers synchronised 20 s before the two good ones.
  SimClockParams p;
  Run r = relay(p, {}, {0.050, 0, 0}, {}, 900, 300, 1, {0, 20, 20});
  CHECK(r.followedFalseticker == 0);
  CHECK(r.dishonest == 0);
  CHECK(r.marks[0] == Mark::FALSETICKER);
  CHECK(r.convergedAt >= 0);
  CHECK(r.convergedAt < 300);
  // With the others still unsynchronised after STARTUP_WAIT, the one that answers is followed
  // (right or wrong: nobody can tell).
  Run alone = relay(p, {}, {0.050, 0, 0}, {}, 200, 300, 1, {0, 1000, 1000});
  CHECK(alone.firstBounded > STARTUP_WAIT);
  CHECK(alone.followedFalseticker > 0);
}

TEST_CASE("relay: a clock 1 s off converges with makestep, and without it (fast slew)") {
  SimClockParams p;
  p.offset = 1;
  DisciplineParams step;
  step.stepThreshold = 0.5;
  step.stepLimit = 3;
  Run a = relay(p, step, {0, 0, 0}, {}, 900, 300);
  CHECK(a.convergedAt >= 0);
  CHECK(a.convergedAt < 120);
  CHECK(a.dishonest == 0);
  Run b = relay(p, {}, {0, 0, 0}, {}, 900, 300);
  CHECK(b.convergedAt >= 0);
  CHECK(b.convergedAt < 300);
  CHECK(b.worstAfter < 100e-6);
  CHECK(b.dishonest == 0);
  // Not bounded while still slewing the second out.
  CHECK(b.firstBounded > 10);
}

TEST_CASE("relay: queueing of milliseconds, polls of 16 s: converged and honest") {
  SimClockParams p;
  Net wan{1e-3, 1e-3};
  Run r = relay(p, {}, {0, 0, 0}, wan, 3600, 900, 4);
  CHECK(r.convergedAt >= 0);
  CHECK(r.worstAfter < 1e-3);
  CHECK(r.dishonest == 0);
  CHECK(r.bounded > 0);
}

TEST_CASE("relay: an unsynchronised server's replies are no samples") {
  UpstreamSource u;
  UpstreamReport r;
  r.address = kj::str("192.0.2.1");
  r.valid = true;
  r.t1Ns = 1'800'000'000'000'000'000;
  r.t2Ns = r.t1Ns + 100'000;
  r.t3Ns = r.t1Ns + 110'000;
  r.t4Ns = r.t1Ns + 200'000;
  r.leap = 3;
  r.stratum = 16;   // a Stratum-1 still slewing its start-up offset
  CHECK(takeReport(u, r, 0, 0, {}) == Intake::NO_SAMPLE);
  CHECK(u.filter.count() == 0);
  CHECK(u.heard);
  r.leap = 0;
  r.stratum = 1;
  r.t1Ns += 2'000'000'000, r.t2Ns += 2'000'000'000, r.t3Ns += 2'000'000'000, r.t4Ns += 2'000'000'000;
  CHECK(takeReport(u, r, 0, 0, {}) == Intake::SAMPLE);
  CHECK(u.filter.count() == 1);
}

TEST_CASE("a negative round trip is taken at its size, or refused when no slew explains it") {
  UpstreamSource u;
  UpstreamReport r;
  r.address = kj::str("192.0.2.1");
  r.valid = true;
  r.leap = 0;
  r.stratum = 1;
  r.t1Ns = 1'800'000'000'000'000'000;
  r.t2Ns = r.t1Ns + 100'000;
  r.t3Ns = r.t2Ns + 205'000;   // the server held it longer than our round trip: -5 us
  r.t4Ns = r.t1Ns + 200'000;
  CHECK(takeReport(u, r, 0, 0, {}) == Intake::SAMPLE);
  CHECK(u.filter.newest().delay == doctest::Approx(5e-6));
  CHECK(u.inconsistent == 0);
  // A server that says it held the request a second, within our 200 us round trip: its clock
  // jumped between the stamps.
  r.t1Ns += 2'000'000'000, r.t2Ns += 2'000'000'000, r.t4Ns += 2'000'000'000;
  r.t3Ns = r.t2Ns + 1'000'000'000;
  CHECK(takeReport(u, r, 0, 0, {}) == Intake::NO_SAMPLE);
  CHECK(u.filter.count() == 1);
  CHECK(u.inconsistent == 1);
}
