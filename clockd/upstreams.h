// Upstream NTP servers as clockd sees them: netd pushes raw T1..T4 exchanges; here
// they become offsets through the clock filter, candidates for selection, the header a relay
// advertises, and the GPS-versus-peers cross-check of a Stratum-1.
#pragma once
#include "selection.h"
#include <array>
#include <cmath>
#include <cstdint>
#include <kj/string.h>
#include <vector>

namespace horloge::clockd {

struct NtpSample {
  int64_t localNs = 0;     // T4
  double offset = 0;       // s, local minus server: ((T1 - T2) + (T4 - T3)) / 2, as measured
  double delay = 0;        // s, |(T4 - T1) - (T3 - T2)| (relay.h: NEGATIVE_DELAY_*)
  // s, `offset` less the phase our own corrections (slews and steps) had removed by T4: the
  // offset of the free-running clock, which a correction made later does not change. A
  // sample's offset as of a later time is its phase plus the phase removed by then.
  double phase = 0;
};

// How noisy a server's samples are. A reply that queued `excess` seconds more than the fastest
// is wrong by at most excess/2, so a sample's variance is modelled as
//   base + (excess/2)^2 * (1 - 4 asymmetry^2) / 2
// where `base` is what the delay does not explain (the server's own noise, timestamping) and
// `asymmetry` the part of the excess that shows as offset: queueing mostly in one direction
// biases every delayed sample the same way (chrony estimates it too), and that part is
// corrected, not noise. Between -1/2 (all queueing on the way back) and +1/2 (on the way out).
struct NoiseModel {
  double base = 0;          // s^2
  double asymmetry = 0;
};
constexpr double MAX_ASYMMETRY = 0.5;

// One server's last SIZE samples and their statistics (chrony's sourcestats over the window
// of RFC 5905's clock filter). Every sample is kept as a free-running phase, so it stays
// comparable with the others whatever we did to the clock since (a raw offset taken before a
// slew of 500 ppm is milliseconds stale seconds later). A straight line through the phases,
// weighted by the noise model, gives the offset and frequency; its residuals are the jitter.
class ClockFilter {
public:
  static constexpr size_t SIZE = 16;
  void add(const NtpSample& s);
  size_t count() const { return n; }
  const NtpSample& newest() const { return at(0); }   // count() > 0
  double minDelay() const { return n > 0 ? fastest : 0; }
  // Its delay over the window's fastest: the queueing in it.
  double excess(const NtpSample& s) const;
  // Its phase less what the asymmetry makes of its excess delay.
  double corrected(const NtpSample& s, const NoiseModel& m) const;
  // The modelled variance of `s`.
  double variance(const NtpSample& s, const NoiseModel& m) const;

  struct Fit {
    size_t count = 0;
    int64_t atNs = 0;       // the newest sample's time: the line is evaluated there
    double phase = 0;       // s, the line at atNs
    double frequency = 0;   // s/s, the free-running clock's rate against the server
    double jitter = 0;      // s, RMS of the residuals (unweighted: a spike widens it)
  };
  // The line through the corrected phases, weighted by the model; with one sample, that sample.
  Fit fit(const NoiseModel& m) const;
  // The base variance (at least `floor`) that makes the residuals of the fit consistent with
  // the model: sum(residual^2 / variance) over the faster half of the window = its share of
  // count - 2. `floor` below four samples.
  double solveBase(const NoiseModel& m, double floor) const;
  // The asymmetry that fits the window best (a plane through time and excess delay), and the
  // variance of that estimate. 0 below four samples or without a spread of delays.
  struct Asymmetry { double value = 0, variance = INFINITY; };
  Asymmetry solveAsymmetry(const NoiseModel& m) const;

private:
  std::array<NtpSample, SIZE> ring{};
  size_t head = 0, n = 0;
  double fastest = 0;   // the smallest delay in the window
  // What the fastest reply itself probably queued: half the spread of the three fastest.
  double gap = 0;
  const NtpSample& at(size_t age) const { return ring[(head + SIZE - 1 - age) % SIZE]; }
};

struct UpstreamSource {
  bool heard = false;
  kj::String address;
  bool noselect = false, prefer = false, stopped = false;
  uint8_t stratum = 16, leap = 3, reach = 0;
  int8_t poll = 0;
  uint32_t refid = 0;
  double rootDelay = 0, rootDispersion = 0;   // s, as the server advertises them
  ClockFilter filter;
  ClockFilter::Fit stats;                     // filter.fit(model) after the newest sample
  NoiseModel model{BASE_FLOOR * BASE_FLOOR, 0};
  static constexpr double BASE_FLOOR = 100e-9;
  static constexpr size_t MEASURE_BASE_FROM = 8;   // samples in the window
  // The window estimates of the noise model, averaged over the last windows (at most 32).
  double learnt = 0;
  double asymmetry = 0, asymmetryVariance = 1;
  uint64_t total = 0;
  uint64_t inconsistent = 0;                  // replies refused: a negative round trip
  int64_t firstNs = 0;                        // T4 of its first reply
  bool beenUsable = false;                    // usable after one of its replies
  int64_t lastNs = 0;
  bool loop = false;                          // its refid is one of our addresses

  // Adds a sample and refits. `phaseNow` is the phase our corrections had removed by its T4
  // (Discipline::phaseCorrection).
  void add(int64_t localNs, double offset, double delay, double phaseNow);
  // Its offset at `nowNs`, corrected for our corrections up to then (`phaseNow`, as above).
  double offsetAt(int64_t nowNs, double phaseNow) const;
  // Its sample `s` for the discipline: the offset less the asymmetry's part, and its 1-sigma.
  double offsetOf(const NtpSample& s) const {
    return s.offset - model.asymmetry * filter.excess(s);
  }
  double sigma(const NtpSample& s) const { return std::sqrt(filter.variance(s, model)); }

  // Half-width of its error interval now: the fastest delay/2 + the server's root distance +
  // jitter, grown at 15 ppm since the newest sample.
  double error(int64_t nowNs) const;
  // Synchronised, not a loop, not stopped, and heard from within three polls.
  bool usable(int64_t nowNs) const;
  Candidate candidate(int64_t nowNs, double phaseNow) const;
};

// The refid a downstream sees for an upstream address: the IPv4 address, or the first four
// bytes of the MD5 of the IPv6 address (RFC 5905 7.3). 0 for an unparsable address.
uint32_t refidOfAddress(kj::StringPtr address);

// A server whose refid is one of our own addresses gets its time from us: a loop.
bool isLoop(uint32_t refid, const std::vector<uint32_t>& ownRefids);

// The header of a relay following `s`: stratum + 1, its refid, root delay and dispersion added
// (to what our own clock may be off by: Discipline::errorBound, which covers the offset still
// to slew out).
struct RelayHeader {
  uint8_t stratum;
  uint32_t refid;
  double rootDelay, rootDispersion;
};
RelayHeader relayHeader(const UpstreamSource& s, int64_t nowNs);

// GPS versus the `noselect` peers: why the GPS is suspect when a strict majority of the usable
// peers lie beyond the combined error bounds (|gps - peer| > gps.error + peer.error); null when
// they agree or there is nobody to ask.
kj::Maybe<kj::String> crossCheck(const Candidate& gps, const std::vector<Candidate>& peers);

// crossCheck()'s verdict with hysteresis: raised once the GPS has disagreed for RAISE_S, cleared
// once it has agreed for CLEAR_S, so that a verdict near the bound does not flap the alarm (and
// stratum 1 with it).
class GpsAlarm {
public:
  static constexpr double RAISE_S = 8, CLEAR_S = 60;
  // Takes the verdict at `nowNs`; true when the alarm was raised or cleared.
  bool update(kj::Maybe<kj::String> verdict, int64_t nowNs);
  bool raised() const { return current.size() > 0; }
  kj::StringPtr text() const { return current; }   // the latest disagreeing verdict, or ""

private:
  kj::String current = kj::str("");
  bool pending = false;     // the verdict differs from the state since `sinceNs`
  int64_t sinceNs = 0;
};

}  // namespace horloge::clockd
