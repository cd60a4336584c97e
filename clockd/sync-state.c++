#include "sync-state.h"
#include "ntp-time.h"
#include <cmath>
#include <cstdio>

namespace horloge::clockd {

const char* syncName(Sync s) {
  switch (s) {
    case Sync::UNSYNCHRONISED: return "unsynchronised";
    case Sync::LOCKED: return "locked";
    case Sync::HOLDOVER: return "holdover";
  }
  return "?";
}

static std::string fmt(const char* f, double a, double b = 0) {
  char buf[128];
  snprintf(buf, sizeof(buf), f, a, b);
  return buf;
}

void SyncStateMachine::enter(Sync s, std::string reason) {
  changed = changed || s != current;
  current = s;
  why = std::move(reason);
}

void SyncStateMachine::onSample(const SourceStats& stats, int64_t localNs) {
  bool contiguous = lastSampleNs != 0 && (localNs - lastSampleNs) * 1e-9 <=
                    std::max(params.sampleGap, 2.5 * interval);
  run = contiguous ? run + 1 : 1;
  last = stats;
  lastSampleNs = localNs;
  int needed = current == Sync::HOLDOVER ? params.relockSamples : params.lockSamples;
  if (current != Sync::LOCKED) {
    if (run >= needed) {
      enter(Sync::LOCKED, fmt("reference clock locked after %.0f consecutive samples", run));
    } else if (current == Sync::UNSYNCHRONISED) {
      why = fmt("reference clock acquiring (%.0f of %.0f samples)", run, needed);
    }
  }
}

bool SyncStateMachine::tick(int64_t nowNs) {
  double silent = lastSampleNs ? (nowNs - lastSampleNs) * 1e-9 : 0;
  if (current == Sync::LOCKED && silent > std::max(params.holdoverAfter, 4 * interval + 1)) {
    enter(Sync::HOLDOVER, fmt("no reference clock sample for %.1f s", silent));
  } else if (current == Sync::HOLDOVER && silent > params.maxHoldover) {
    enter(Sync::UNSYNCHRONISED, fmt("holdover exceeded maxholdover (%.0f s)", params.maxHoldover));
    run = 0;
  }
  bool c = changed;
  changed = false;
  return c;
}

Header SyncStateMachine::header(int64_t nowNs) const {
  Header h;
  if (current == Sync::UNSYNCHRONISED) {
    h.refid = refidFromText("INIT");
    return h;
  }
  h.leap = 0;
  h.stratum = 1;
  h.refid = refidFromText("PPS\0");
  h.referenceTime = ntp::fromUnixNs(lastSampleNs);
  double age = std::max(0.0, (nowNs - lastSampleNs) * 1e-9);
  h.rootDispersion = ntp::shortFromSeconds(std::fabs(last.jitter) + params.wander * age);
  return h;
}

}  // namespace horloge::clockd
