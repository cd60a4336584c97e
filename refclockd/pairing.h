// Gives each PPS edge its second number: from the NMEA time sentence that follows it, or, when
// NMEA is missing, from clockd's clock while clockd says it is within 0.4 s (chrony's `lock`).
// The edge says *when* a second began (by the system clock); the sentence says *which*.
#pragma once
#include <cstdint>
#include <kj/common.h>

namespace horloge::refclock {

struct Paired {
  int64_t systemTimeNs;      // system clock at the edge (or at the sentence, NMEA alone)
  int64_t referenceTimeNs;   // the UTC second the edge began, plus the configured offset
  int64_t nmeaDelayNs;       // sentence arrival after the edge; 0 for PPS alone
  bool ppsOnly = false;      // numbered from clockd's clock, no NMEA
  bool nmeaOnly = false;     // no edge: the arrival of a time sentence (or gpsd's serial time)
};

// What clockd answered to the last status push (ipc::ClockHint), and when.
struct ClockHint {
  bool synced = false;
  int64_t offsetNs = 0;      // system clock minus reference, clockd's estimate
  int64_t receivedNs = 0;
  uint32_t steps = 0;        // clock steps clockd has made so far
  static constexpr int64_t MAX_AGE_NS = 10'000'000'000;
  bool usable(int64_t nowNs) const { return synced && nowNs - receivedNs < MAX_AGE_NS; }
};

class Pairing {
public:
  static constexpr int64_t MAX_DELAY_NS = 900'000'000;   // a sentence later than this is not ours
  // A delay this close to half a second could belong to either neighbouring edge once the
  // receiver's output timing wanders: refuse rather than risk a whole-second error.
  static constexpr int64_t HALF_SECOND_NS = 500'000'000;
  static constexpr int64_t AMBIGUITY_NS = 100'000'000;
  // PPS alone: clockd's clock must put the edge within this of a whole second.
  static constexpr int64_t LOCK_NS = 400'000'000;

  explicit Pairing(int64_t offsetNs): offsetNs(offsetNs) {}

  // A new edge. If the previous edge found no sentence, it is numbered from `hint` when usable
  // and returned.
  kj::Maybe<Paired> onEdge(int64_t systemTimeNs, const ClockHint& hint, int64_t nowNs);
  // A time sentence naming UTC second `utcSecond` arrived at system time `arrivalNs`.
  kj::Maybe<Paired> onTime(int64_t utcSecond, int64_t arrivalNs);

  int64_t lastDelayNs() const { return delayNs; }
  int64_t meanDelayNs() const { return meanNs; }
  uint64_t refused() const { return refusals; }
  uint64_t ppsOnly() const { return alone; }
  uint64_t edges() const { return edgeCount; }
  bool ambiguous() const { return lastAmbiguous; }

private:
  int64_t offsetNs;
  int64_t edgeNs = 0;
  int64_t delayNs = 0, meanNs = 0;
  uint64_t refusals = 0, alone = 0, edgeCount = 0;
  bool used = true;          // an edge pairs at most once (RMC and ZDA both name the second)
  bool lastAmbiguous = false, refusedEdge = false;
};

}  // namespace horloge::refclock
