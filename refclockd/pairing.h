// Gives each PPS edge its second number from the NMEA time sentence that follows it.
// The edge says *when* a second began (by the system clock); the sentence says *which*.
#pragma once
#include <cstdint>
#include <optional>

namespace horloge::refclock {

struct Paired {
  int64_t systemTimeNs;      // system clock at the edge
  int64_t referenceTimeNs;   // the UTC second the edge began, plus the configured offset
  int64_t nmeaDelayNs;       // sentence arrival after the edge
};

class Pairing {
public:
  static constexpr int64_t MAX_DELAY_NS = 900'000'000;   // a sentence later than this is not ours

  explicit Pairing(int64_t offsetNs): offsetNs(offsetNs) {}

  void onEdge(int64_t systemTimeNs) { edgeNs = systemTimeNs; used = false; }
  // A time sentence naming UTC second `utcSecond` arrived at system time `arrivalNs`.
  std::optional<Paired> onTime(int64_t utcSecond, int64_t arrivalNs);

  int64_t lastDelayNs() const { return delayNs; }

private:
  int64_t offsetNs;
  int64_t edgeNs = 0;
  int64_t delayNs = 0;
  bool used = true;          // an edge pairs at most once (RMC and ZDA both name the second)
};

}  // namespace horloge::refclock
