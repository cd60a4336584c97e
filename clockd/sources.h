// Every time source clockd hears from, and the choice among them (chrony's sources.c): the
// reference clocks refclockd pushes samples of, the upstream servers netd polls, selection over
// both, and the GPS cross-check against the `noselect` peers. Pure: no I/O, no clock reads; the
// caller passes the time and what its corrections did (`phaseNow`).
#pragma once
#include "config.h"
#include "selection.h"
#include "source-filter.h"
#include "upstreams.h"
#include <array>
#include <cstdint>
#include <kj/debug.h>

namespace horloge::clockd {

// Reference clocks clockd keeps apart (RefSample.sourceId < MAX_SOURCES).
constexpr uint32_t MAX_SOURCES = 8;

// Which source: reference clock `index` (RefSample.sourceId) or upstream server `index` (the
// `server` line, UpstreamSample.server); none by default.
class SourceId {
public:
  constexpr SourceId() = default;
  static constexpr SourceId refclock(uint8_t i) { return SourceId(REFCLOCK, i); }
  static constexpr SourceId upstream(uint8_t k) { return SourceId(UPSTREAM, k); }
  bool none() const { return type == NONE; }
  bool isRefclock() const { return type == REFCLOCK; }
  bool isUpstream() const { return type == UPSTREAM; }
  uint8_t index() const { return i; }
  bool operator==(const SourceId&) const = default;

private:
  enum Type : uint8_t { NONE, REFCLOCK, UPSTREAM };
  constexpr SourceId(Type t, uint8_t i): type(t), i(i) {}
  Type type = NONE;
  uint8_t i = 0;
};

// One reference clock as selection sees it.
struct RefclockSource {
  SourceFilter filter;
  double claimedError = 0;            // s, its last sample's (PPS: 1-sigma; NMEA: a bound)
  SourceKind kind = SourceKind::PPS;  // as its last sample says
  Mark mark = Mark::UNUSABLE;

  // Usable with this many samples, the newest at most FRESH_S old.
  static constexpr size_t MIN_SAMPLES = 3;
  static constexpr double FRESH_S = 8;

  bool heard() const { return filter.total() > 0; }
  // Half-width of its error interval for these statistics: 3 sigma of its jitter or its claim,
  // whichever is larger, plus 1 us.
  double error(const SourceStats& st) const;
  Candidate candidate(int64_t localNs) const;
};

class Sources {
public:
  // A validated sample of refclock `id` (< MAX_SOURCES) taken at `localNs`: local minus
  // reference `offset`, `error` as claimed.
  void addSample(uint8_t id, int64_t localNs, double offset, double error, SourceKind kind);

  // Selection over every source heard from at `localNs` (`phaseNow`: the phase our corrections
  // had removed by then, Discipline::phaseCorrection): refclocks and upstream servers that are
  // not `noselect`, upstreams only while they are a quorum (upstreamQuorum), the one chosen
  // last time sticky (RESELECT_DISTANCE). First the GPS cross-check: the best usable refclock
  // against the `noselect` peers; while its alarm is raised no refclock is usable (marked 'x'
  // if it was). `trigger`: the refclock whose sample prompted this, followed alone while
  // acquiring when it is the only source heard from. Sets every mark; returns the choice.
  SourceId select(int64_t localNs, double phaseNow, SourceId trigger = {});

  const RefclockSource& refclock(uint8_t id) const { return refclocks[id]; }
  UpstreamSource& upstream(uint8_t k) {
    KJ_ASSERT(k < MAX_SERVERS, "validateUpstreamSample() lets no such server through", k);
    return upstreams[k];
  }
  const UpstreamSource& upstream(uint8_t k) const { return upstreams[k]; }
  Mark upstreamMark(uint8_t k) const { return upstreamMarks[k]; }
  const GpsAlarm& gpsAlarm() const { return alarm; }
  // The last select()'s answer.
  SourceId chosen() const { return lastChosen; }
  // Refclocks and upstreams heard from: the status lists these.
  size_t heard() const;

private:
  std::array<RefclockSource, MAX_SOURCES> refclocks;
  std::array<UpstreamSource, MAX_SERVERS> upstreams;
  std::array<Mark, MAX_SERVERS> upstreamMarks = filled(Mark::UNUSABLE);
  GpsAlarm alarm;
  SourceId lastChosen;

  static constexpr std::array<Mark, MAX_SERVERS> filled(Mark m) {
    std::array<Mark, MAX_SERVERS> a{};
    a.fill(m);
    return a;
  }
};

}  // namespace horloge::clockd
