#include "sources.h"
#include "relay.h"
#include <algorithm>
#include <cmath>
#include <kj/debug.h>
#include <vector>

namespace horloge::clockd {

double RefclockSource::error(const SourceStats& st) const {
  return std::max(3 * st.jitter, claimedError) + 1e-6;
}

Candidate RefclockSource::candidate(int64_t localNs) const {
  SourceStats st = filter.stats();
  bool fresh = (localNs - st.lastLocalNs) * 1e-9 < FRESH_S;
  return {kind, fresh && st.count >= MIN_SAMPLES, st.offset, error(st), st.jitter};
}

void Sources::addSample(uint8_t id, int64_t localNs, double offset, double error,
                        SourceKind kind) {
  KJ_ASSERT(id < MAX_SOURCES, "validateSample() lets no such source id through", id);
  RefclockSource& r = refclocks[id];
  r.filter.add({localNs, offset, error});
  r.claimedError = error;
  r.kind = kind;
}

size_t Sources::heard() const {
  size_t n = 0;
  for (auto& r: refclocks) n += r.heard();
  for (auto& u: upstreams) n += u.heard;
  return n;
}

SourceId Sources::select(int64_t localNs, double phaseNow, SourceId trigger) {
  std::vector<Candidate> candidates;
  std::vector<SourceId> ids;
  for (uint8_t i = 0; i < refclocks.size(); ++i) {
    if (!refclocks[i].heard()) continue;
    candidates.push_back(refclocks[i].candidate(localNs));
    ids.push_back(SourceId::refclock(i));
  }
  size_t nRefclocks = candidates.size();

  // The GPS cross-check: the best refclock against the noselect peers, whose offsets are as
  // of `localNs`, corrected for everything our clock was made to do.
  std::vector<Candidate> peers;
  for (auto& u: upstreams) if (u.heard && u.noselect) peers.push_back(u.candidate(localNs, phaseNow));
  int gps = -1;
  for (size_t k = 0; k < nRefclocks; ++k) {
    if (candidates[k].usable && (gps < 0 || candidates[k].error < candidates[gps].error)) gps = k;
  }
  alarm.update(gps >= 0 ? crossCheck(candidates[gps], peers) : nullptr, localNs);
  // While alarmed, no refclock may be followed: stratum 1 is no longer claimed from them.
  std::vector<bool> wasUsable;
  for (auto& c: candidates) wasUsable.push_back(c.usable);
  if (alarm.raised()) for (auto& c: candidates) c.usable = false;

  bool quorum = upstreamQuorum(upstreams, localNs);
  for (uint8_t k = 0; k < upstreams.size(); ++k) {
    auto& u = upstreams[k];
    if (!u.heard || u.noselect) continue;
    candidates.push_back(u.candidate(localNs, phaseNow));
    candidates.back().prefer = u.prefer;
    candidates.back().usable = candidates.back().usable && quorum;
    ids.push_back(SourceId::upstream(k));
  }
  for (size_t k = 0; k < candidates.size(); ++k) candidates[k].current = ids[k] == lastChosen;

  Selection sel = clockd::select(candidates);
  for (size_t k = 0; k < nRefclocks; ++k) {
    refclocks[ids[k].index()].mark =
        alarm.raised() && wasUsable[k] ? Mark::FALSETICKER : sel.marks[k];
  }
  SourceId chosen = sel.selected >= 0 ? ids[sel.selected] : SourceId();
  // A lone refclock, still acquiring (never while alarmed).
  if (chosen.none() && candidates.size() == 1 && nRefclocks == 1 && !alarm.raised()) {
    chosen = trigger;
  }
  lastChosen = chosen;
  upstreamMarks = filled(Mark::UNUSABLE);
  for (size_t k = nRefclocks; k < candidates.size(); ++k) upstreamMarks[ids[k].index()] = sel.marks[k];
  // noselect peers: 'x' when they disagree with the GPS, '-' (never used) otherwise.
  for (uint8_t k = 0; k < upstreams.size(); ++k) {
    auto& u = upstreams[k];
    if (!u.heard || !u.noselect || !u.usable(localNs)) continue;
    Candidate c = u.candidate(localNs, phaseNow);
    bool off = gps >= 0 &&
               std::fabs(candidates[gps].offset - c.offset) > candidates[gps].error + c.error;
    upstreamMarks[k] = off ? Mark::FALSETICKER : Mark::OUTLIER;
  }
  return chosen;
}

}  // namespace horloge::clockd
