// GNSS integrity: a receiver's time is believed only while it agrees with what we already
// know: the build date, a persisted last-good time, the system clock once clockd vouches for it,
// and its own previous seconds. Catches the GPS week-number rollover (a date 1024 weeks early), one-second steps
// (bad leap-second handling, firmware bugs) and anything before the software was built.
// After an anomaly nothing goes to clockd until the receiver has been consistent for a while.
#pragma once
#include "pairing.h"
#include "ntp-time.h"
#include <cstdint>
#include <kj/string.h>

namespace horloge::refclock {

// Where the last-good GNSS time survives restarts (refclockd's state file).
class LastGoodStore {
public:
  virtual ~LastGoodStore() noexcept(false) = default;
  virtual int64_t load() = 0;                 // 0 when nothing was saved
  virtual void save(int64_t unixNs) = 0;
};

class Integrity {
public:
  static constexpr int64_t WEEK_ROLLOVER_NS = 1024LL * 7 * 86400 * ntp::NS_PER_S;
  static constexpr int RECOVER_SAMPLES = 10;  // consistent samples that end an anomaly
  static constexpr int64_t SAVE_EVERY_NS = 60 * ntp::NS_PER_S;

  // `buildNs`: the build date; `store` may be null (no persistence).
  Integrity(int64_t buildNs, LastGoodStore* store);

  // Checks one sample. True when it may go to clockd; otherwise `anomaly()` says why.
  bool check(const Paired& p, const ClockHint& hint, int64_t nowNs);

  kj::StringPtr anomaly() const { return why; }   // "" while consistent
  uint64_t anomalies() const { return count; }
  int64_t lastGoodNs() const { return lastGood; }

private:
  int64_t buildNs;
  LastGoodStore* store;
  int64_t lastGood = 0, lastSaved = 0;
  kj::String why = kj::str("");
  uint64_t count = 0;
  int consistent = 0;
  bool havePrev = false;
  int64_t prevSys = 0, prevRef = 0;
  uint32_t stepsSeen = 0;

  // Why `p` cannot be believed, or null.
  kj::Maybe<kj::String> inconsistency(const Paired& p, const ClockHint& hint, int64_t nowNs) const;
};

}  // namespace horloge::refclock
