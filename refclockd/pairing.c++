#include "pairing.h"

namespace horloge::refclock {

std::optional<Paired> Pairing::onTime(int64_t utcSecond, int64_t arrivalNs) {
  if (used || edgeNs == 0) return std::nullopt;
  int64_t delay = arrivalNs - edgeNs;
  if (delay < 0 || delay > MAX_DELAY_NS) return std::nullopt;
  used = true;
  delayNs = delay;
  return Paired{edgeNs, utcSecond * 1'000'000'000 + offsetNs, delay};
}

}  // namespace horloge::refclock
