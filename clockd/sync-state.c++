#include "sync-state.h"
#include "ntp-time.h"
#include <cmath>
#include <cstdio>

namespace horloge::clockd {

kj::String refidText(uint32_t refid, uint8_t stratum) {
  char buf[16];
  if (stratum >= 2 && stratum < 16) {
    snprintf(buf, sizeof(buf), "%u.%u.%u.%u", refid >> 24, (refid >> 16) & 255,
             (refid >> 8) & 255, refid & 255);
    return kj::str(buf);
  }
  size_t n = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    char c = char(refid >> shift);
    if (c == 0) break;
    buf[n++] = c >= 0x20 && c < 0x7f ? c : '?';   // a status is text: never raw bytes
  }
  return kj::heapString(buf, n);
}

namespace {

kj::String fmt(kj::StringPtr source, const char* f, double a, double b = 0) {
  char buf[128];
  snprintf(buf, sizeof(buf), f, a, b);
  return kj::str(source, buf);
}

}  // namespace

void SyncStateMachine::setSource(kj::String name, double intervalS, bool isUpstream) {
  source = kj::mv(name);
  interval = intervalS;
  upstream = isUpstream;
}

void SyncStateMachine::enter(Sync s, kj::String reason) {
  changed = changed || s != current;
  current = s;
  why = kj::mv(reason);
}

void SyncStateMachine::onSample(const SourceStats& stats, int64_t localNs, double unslewed) {
  bool contiguous = lastSampleNs != 0 && (localNs - lastSampleNs) * 1e-9 <=
                    std::max(params.sampleGap, 2.5 * interval);
  run = contiguous ? run + 1 : 1;
  last = stats;
  lastSampleNs = localNs;
  int needed = current == Sync::HOLDOVER ? params.relockSamples
               : upstream                  ? params.upstreamLockSamples
                                           : params.lockSamples;
  if (current != Sync::LOCKED) {
    if (run >= needed && unslewed == 0) {
      enter(Sync::LOCKED, fmt(source, " locked after %.0f consecutive samples", run));
    } else if (run >= needed && current == Sync::UNSYNCHRONISED) {
      why = fmt(source, " acquired, slewing the clock: %.6f s left", unslewed);
    } else if (current == Sync::UNSYNCHRONISED) {
      why = fmt(source, " acquiring (%.0f of %.0f samples)", run, needed);
    }
  }
}

bool SyncStateMachine::tick(int64_t nowNs) {
  double silent = lastSampleNs ? (nowNs - lastSampleNs) * 1e-9 : 0;
  if (current == Sync::LOCKED && silent > std::max(params.holdoverAfter, 4 * interval + 1)) {
    enter(Sync::HOLDOVER, fmt(kj::str("no sample from the ", source), " for %.1f s", silent));
  } else if (current == Sync::HOLDOVER && silent > params.maxHoldover) {
    enter(Sync::UNSYNCHRONISED, fmt("holdover", " exceeded maxholdover (%.0f s)", params.maxHoldover));
    run = 0;
  }
  bool c = changed;
  changed = false;
  return c;
}

ServerHeader SyncStateMachine::header(int64_t nowNs) const {
  ServerHeader h;
  if (current == Sync::UNSYNCHRONISED) return h;
  h.leap = 0;
  h.stratum = 1;
  h.refid = refidFromText("PPS\0");
  h.referenceTime = ntp::fromUnixNs(lastSampleNs);
  double age = std::max(0.0, (nowNs - lastSampleNs) * 1e-9);
  h.rootDispersion = ntp::shortFromSeconds(std::fabs(last.jitter) + params.wander * age);
  return h;
}

}  // namespace horloge::clockd
