// Upstream NTP servers as clockd sees them (issue 8): netd pushes raw T1..T4 exchanges; here
// they become offsets through the clock filter, candidates for selection, the header a relay
// advertises, and the GPS-versus-peers cross-check of a Stratum-1.
#pragma once
#include "selection.h"
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace horloge::clockd {

struct NtpSample {
  int64_t localNs = 0;     // T4
  double offset = 0;       // s, local minus server: ((T1 - T2) + (T4 - T3)) / 2
  double delay = 0;        // s, (T4 - T1) - (T3 - T2), at least 0
};

// RFC 5905's clock filter, reduced to its rule: of the last 8 samples, the one with the
// smallest delay is the least disturbed by queueing, and is the one used.
class ClockFilter {
public:
  static constexpr size_t SIZE = 8;
  void add(const NtpSample& s);
  std::optional<NtpSample> best() const;
  double jitter() const;   // RMS of the offsets around the best one's
  size_t count() const { return n; }

private:
  std::array<NtpSample, SIZE> ring{};
  size_t head = 0, n = 0;
};

struct UpstreamSource {
  bool heard = false;
  std::string address;
  bool noselect = false, prefer = false, stopped = false;
  uint8_t stratum = 16, leap = 3, reach = 0;
  int8_t poll = 0;
  uint32_t refid = 0;
  double rootDelay = 0, rootDispersion = 0;   // s, as the server advertises them
  ClockFilter filter;
  uint64_t total = 0;
  int64_t lastNs = 0;
  int64_t usedNs = 0;                         // the newest sample the discipline took
  bool loop = false;                          // its refid is one of our addresses

  // Half-width of its error interval now: delay/2 + the server's root distance + jitter,
  // grown at 15 ppm since the sample.
  double error(int64_t nowNs) const;
  // Synchronised, not a loop, not stopped, and heard from within three polls.
  bool usable(int64_t nowNs) const;
  Candidate candidate(int64_t nowNs) const;
};

// The refid a downstream sees for an upstream address: the IPv4 address, or the first four
// bytes of the MD5 of the IPv6 address (RFC 5905 7.3). 0 for an unparsable address.
uint32_t refidOfAddress(const std::string& address);

// A server whose refid is one of our own addresses gets its time from us: a loop.
bool isLoop(uint32_t refid, const std::vector<uint32_t>& ownRefids);

// The header of a relay following `s`: stratum + 1, its refid, root delay and dispersion added.
struct RelayHeader {
  uint8_t stratum;
  uint32_t refid;
  double rootDelay, rootDispersion;
};
RelayHeader relayHeader(const UpstreamSource& s, int64_t nowNs);

// GPS versus the `noselect` peers: an alarm when a strict majority of the usable peers lie
// beyond the combined error bounds (|gps - peer| > gps.error + peer.error). Empty: agree or
// nobody to ask.
std::string crossCheck(const Candidate& gps, const std::vector<Candidate>& peers);

// crossCheck()'s verdict with hysteresis: raised once the GPS has disagreed for RAISE_S, cleared
// once it has agreed for CLEAR_S, so that a verdict near the bound does not flap the alarm (and
// stratum 1 with it).
class GpsAlarm {
public:
  static constexpr double RAISE_S = 8, CLEAR_S = 60;
  // Takes the verdict at `nowNs`; true when the alarm was raised or cleared.
  bool update(const std::string& verdict, int64_t nowNs);
  bool raised() const { return !current.empty(); }
  const std::string& text() const { return current; }   // the latest disagreeing verdict

private:
  std::string current;
  bool pending = false;     // the verdict differs from the state since `sinceNs`
  int64_t sinceNs = 0;
};

}  // namespace horloge::clockd
