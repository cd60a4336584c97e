#include "integrity.h"
#include <cmath>
#include <cstdlib>

namespace horloge::refclock {

namespace {
constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t DAY = 86400 * S;

// Whole seconds in a difference, rounded to the nearest.
int64_t roundS(int64_t ns) { return static_cast<int64_t>(std::llround(ns / 1e9)); }
}  // namespace

Integrity::Integrity(int64_t buildNs, LastGoodStore* store): buildNs(buildNs), store(store) {
  if (store != nullptr) lastGood = lastSaved = store->load();
}

kj::Maybe<kj::String> Integrity::inconsistency(const Paired& p, const ClockHint& hint,
                                               int64_t nowNs) const {
  int64_t ref = p.referenceTimeNs, sys = p.systemTimeNs;
  // 1024 weeks early against the last-good time, the build date, or the system clock once
  // clockd vouches for it: before that (a Pi without an RTC) the receiver may be right and the
  // clock wrong.
  int64_t vouched = hint.usable(nowNs) ? sys - hint.offsetNs : 0;
  for (int64_t known: {vouched, lastGood, buildNs}) {
    if (known != 0 && std::llabs(ref + WEEK_ROLLOVER_NS - known) < 400 * DAY)
      return kj::str("week rollover (-1024 weeks)");
  }
  if (ref < buildNs) return kj::str("time before the build date");
  if (lastGood != 0 && ref < lastGood - 2 * S) return kj::str("time before the last-good time");
  if (hint.usable(nowNs)) {
    // clockd's clock is within 0.4 s: any other second is wrong.
    int64_t diff = ref - (sys - hint.offsetNs);
    if (std::llabs(diff) >= 400'000'000)
      return kj::str("wrong second (", roundS(diff), " s from the system clock)");
  }
  if (havePrev && sys - prevSys < 64 * S) {
    // Seconds counted by the receiver must match seconds elapsed on the system clock.
    int64_t step = (ref - prevRef) - (sys - prevSys);
    if (std::llabs(step) >= 500'000'000)
      return kj::str("time step (", roundS(step), " s)");
  }
  return nullptr;
}

bool Integrity::check(const Paired& p, const ClockHint& hint, int64_t nowNs) {
  // clockd stepped the clock since the previous sample: the jump is its, not the receiver's.
  if (hint.steps != stepsSeen) havePrev = false;
  stepsSeen = hint.steps;
  kj::Maybe<kj::String> bad = inconsistency(p, hint, nowNs);
  havePrev = true;
  prevSys = p.systemTimeNs;
  prevRef = p.referenceTimeNs;
  KJ_IF_MAYBE(b, bad) {
    if (why.size() == 0) ++count;
    why = kj::mv(*b);
    consistent = 0;
    return false;
  }
  if (why.size() > 0 && ++consistent < RECOVER_SAMPLES) return false;
  why = kj::str("");
  lastGood = std::max(lastGood, p.referenceTimeNs);
  if (store != nullptr && lastGood - lastSaved >= SAVE_EVERY_NS) {
    store->save(lastGood);
    lastSaved = lastGood;
  }
  return true;
}

}  // namespace horloge::refclock
