// The simulated GPS receiver behind `refclock sim`: what it emits for each second, faults
// included, as a pure function of the second so that tests can run it on virtual time.
#pragma once
#include "config.h"
#include "ubx.h"
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

  // Second `unixSecond` of the host clock, `elapsed` seconds after the simulator started.
  SimSecond at(int64_t unixSecond, double elapsed);
  // With `start`: the host's second `hostSecond` is the configured start (the GNSS's UTC then
  // runs that many whole seconds from the host's). Call before at().
  void begin(int64_t hostSecond) {
    if (conf.simStartAt != 0) shift = conf.simStartAt - hostSecond;
  }
  int64_t shiftSeconds() const { return shift; }
  bool active(SimFault::Kind kind, double elapsed) const;

  // Bytes the host wrote to the receiver: with `ubx`, a UBX-CFG-MSG or CFG-VALSET that enables
  // NAV-TIMELS turns it on, as on a u-blox (which sends none until asked). Returns the bytes
  // the receiver answers with: as a u-blox M8, ACK-ACK for CFG-MSG and ACK-NAK for CFG-VALSET
  // (which only M9 and later know); with `ubx-refuse`, ACK-NAK for both and no TIMELS; nothing
  // without `ubx` (not a u-blox).
  std::string fromHost(std::string_view bytes);
  bool sendsTimeLs() const { return timeLs; }
  uint64_t answers() const { return answered; }   // ACK-ACK and ACK-NAK frames sent
  bool ubx() const { return conf.ubx; }
  // The leap second `leap` announces: the midnight after it (resolved on the first second).
  int64_t leapAt() const { return leapMidnight; }

private:
  RefclockConf conf;
  ubx::Framer hostFrames;
  bool timeLs = false;
  uint64_t answered = 0;
  int64_t leapMidnight = 0;
  int64_t shift = 0;              // GNSS UTC - host, s (before any leap)
  kj::String timeLsFrame(int64_t unixSecond) const;
  std::mt19937_64 rng;
  std::normal_distribution<double> edgeNoise;
};

// The sentences a u-blox-like receiver sends for a second: RMC, GGA, GSA, GSV, GNS, ZDA.
// `leapSecond`: `second` is 23:59:59 and the sentences name the inserted 23:59:60 after it.
kj::String simSentences(int64_t second, bool leapSecond = false);

// GPS - UTC before any leap the simulator announces (since 2017-01-01).
constexpr int SIM_GPS_UTC = 18;
constexpr int64_t SIM_LAST_LEAP = 1'483'228'800;   // 2017-01-01 00:00:00 UTC

}  // namespace horloge::refclock
