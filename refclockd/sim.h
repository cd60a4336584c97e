// The simulated GPS receiver behind `refclock sim`: what it emits for each second, faults
// included, as a pure function of the second so that tests can run it on virtual time.
#pragma once
#include "config.h"
#include <cstdint>
#include <kj/string.h>
#include <random>

namespace horloge::refclock {

struct SimSecond {
  kj::Maybe<int64_t> edgeNs;       // the PPS edge by the system clock; none when PPS is missing
  kj::String nmea;                 // bytes written after the edge; empty when NMEA is missing
  int64_t nmeaAtNs = 0;            // when they are written
};

class SimReceiver {
public:
  static constexpr double LATE_DELAY = 0.55;   // late-nmea: in the half-second ambiguity

  explicit SimReceiver(const RefclockConf& conf, uint64_t seed = std::random_device{}())
      : conf(conf), rng(seed), edgeNoise(0.0, conf.jitter) {}

  // Second `unixSecond`, `elapsed` seconds after the simulator started.
  SimSecond at(int64_t unixSecond, double elapsed);
  bool active(SimFault::Kind kind, double elapsed) const;

private:
  RefclockConf conf;
  std::mt19937_64 rng;
  std::normal_distribution<double> edgeNoise;
};

// The sentences a u-blox-like receiver sends for a second: RMC, GGA, GSA, GSV, GNS, ZDA.
kj::String simSentences(int64_t second);

}  // namespace horloge::refclock
