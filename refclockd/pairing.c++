#include "pairing.h"
#include "ntp-time.h"
#include <cstdlib>

namespace horloge::refclock {

namespace {
constexpr int64_t S = ntp::NS_PER_S;

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

kj::Maybe<Paired> Pairing::onEdge(int64_t systemTimeNs, const ClockHint& hint,
                                  int64_t nowNs) {
  kj::Maybe<Paired> out;
  if (!used && edgeNs != 0 && hint.usable(nowNs)) {
    // The previous edge on clockd's timescale; it must sit near a whole second.
    int64_t t = edgeNs - hint.offsetNs;
    int64_t second = floorDiv(t + S / 2, S);
    if (std::llabs(t - second * S) < LOCK_NS) {
      out = Paired{edgeNs, second * S + offsetNs, 0, true};
      ++alone;
    } else {
      ++refusals;
    }
  }
  edgeNs = systemTimeNs;
  used = refusedEdge = false;
  ++edgeCount;
  return out;
}

kj::Maybe<Paired> Pairing::onTime(int64_t utcSecond, int64_t arrivalNs) {
  if (used || edgeNs == 0) return nullptr;
  int64_t delay = arrivalNs - edgeNs;
  if (delay < 0 || delay > MAX_DELAY_NS) return nullptr;
  delayNs = delay;
  // Reported continuously: an exponential average over ~16 s.
  meanNs = meanNs == 0 ? delay : meanNs + (delay - meanNs) / 16;
  lastAmbiguous = std::llabs(delay - HALF_SECOND_NS) < AMBIGUITY_NS;
  if (lastAmbiguous) {
    if (!refusedEdge) ++refusals;
    refusedEdge = true;
    return nullptr;          // the edge stays free: clockd's clock may still number it
  }
  used = true;
  return Paired{edgeNs, utcSecond * S + offsetNs, delay, false};
}

}  // namespace horloge::refclock
