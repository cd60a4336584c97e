#include "validate.h"
#include "netd-counters.h"
#include <kj/debug.h>

namespace horloge::clockd {

void validateSample(ipc::RefSample::Reader s) {
  KJ_REQUIRE(s.getSourceId() < MAX_SOURCES, "sourceId out of range", s.getSourceId());
  KJ_REQUIRE(s.getSystemTimeNs() >= EARLIEST_NS && s.getSystemTimeNs() < LATEST_NS,
             "systemTimeNs out of range", s.getSystemTimeNs());
  KJ_REQUIRE(s.getReferenceTimeNs() >= EARLIEST_NS && s.getReferenceTimeNs() < LATEST_NS,
             "referenceTimeNs out of range", s.getReferenceTimeNs());
  KJ_REQUIRE(s.getErrorNs() > 0 && s.getErrorNs() <= uint64_t(ntp::NS_PER_S), "errorNs out of range",
             s.getErrorNs());
  KJ_REQUIRE(s.getKind() == ipc::SampleKind::PPS || s.getKind() == ipc::SampleKind::NMEA,
             "unknown sample kind");
}

void validateReceiverLeap(ipc::ReceiverLeap::Reader l) {
  if (l.getReceivedNs() == 0) {
    KJ_REQUIRE(!l.getCurrentValid() && !l.getChangeValid(), "leap information never received is valid");
    return;
  }
  KJ_REQUIRE(l.getReceivedNs() >= EARLIEST_NS && l.getReceivedNs() < LATEST_NS,
             "leap information receivedNs out of range", l.getReceivedNs());
  // TAI - UTC was 10 s in 1972 and grows by about one second every year or two.
  if (l.getCurrentValid()) {
    KJ_REQUIRE(l.getTaiMinusUtc() >= 10 && l.getTaiMinusUtc() <= 100, "TAI-UTC out of range",
               l.getTaiMinusUtc());
  }
  KJ_REQUIRE(l.getChange() >= -1 && l.getChange() <= 1, "leap change is not -1, 0 or +1",
             l.getChange());
  if (l.getChangeValid() && l.getChange() != 0) {
    int64_t at = l.getAtNs();
    KJ_REQUIRE(at >= EARLIEST_NS && at < LATEST_NS, "leap time out of range", at);
    KJ_REQUIRE(at % (86400LL * 1'000'000'000) == 0, "leap time is not a UTC midnight", at);
  }
}

void validateRefclockStatus(capnp::List<ipc::RefclockStatus>::Reader list) {
  KJ_REQUIRE(list.size() <= MAX_SOURCES, "too many refclock entries", list.size());
  for (auto r: list) {
    KJ_REQUIRE(r.getSourceId() < MAX_SOURCES, "sourceId out of range");
    KJ_REQUIRE(r.getName().size() <= MAX_TEXT && r.getDriver().size() <= MAX_TEXT &&
               r.getFault().size() <= MAX_TEXT, "refclock text too long");
    KJ_REQUIRE(r.getNmeaDelayNs() >= -ntp::NS_PER_S && r.getNmeaDelayNs() <= 2 * ntp::NS_PER_S,
               "nmeaDelayNs out of range");
    KJ_REQUIRE(r.getSatellitesUsed() <= 255 && r.getFixQuality() <= 9, "bad GNSS fix fields");
    KJ_REQUIRE(r.getAnomaly().size() <= MAX_TEXT && r.getSatellites().size() <= 128,
               "refclock anomaly text or satellite list too long");
    for (auto sat: r.getSatellites())
      KJ_REQUIRE(sat.getSystem().size() <= 2, "bad satellite system");
    validateReceiverLeap(r.getLeap());
  }
}

void validateNetdStats(ipc::NetdStats::Reader s) {
  KJ_REQUIRE(s.getAnswered() <= s.getReceived(), "answered more than received");
  KJ_REQUIRE(s.getDropped() <= s.getReceived(), "dropped more than received");
  KJ_REQUIRE(s.getStateAgeNs() >= -1, "negative state age");
  KJ_REQUIRE(s.getServedLeap() <= 3 && s.getServedStratum() <= 16, "served header out of range");
  // Each count is of received requests. netd sums its workers' counters one after another
  // without a snapshot, so only bounds that hold for every single counter are checked.
  uint64_t received = s.getReceived();
  for (auto& row: NETD_STAT_ROWS) {
    if (row.perRequest) {
      KJ_REQUIRE(row.get(s) <= received, "a netd counter exceeds the requests received");
    }
  }
  KJ_REQUIRE(s.getNtsCookiesIssued() <= 8 * received, "more NTS cookies than 8 per request");
  // netd's top talkers, copied into every status read: bounded, short addresses.
  KJ_REQUIRE(s.getTopClients().size() <= 16, "too many top clients");
  for (auto c: s.getTopClients()) {
    KJ_REQUIRE(c.getAddress().size() <= 48 && c.getKodSent() <= c.getRateLimited() &&
               c.getLastAgoNs() >= 0, "bad top client entry");
  }
}

void validateNtskeStats(ipc::NtskeStats::Reader s) {
  uint64_t sessions = s.getSessions();
  for (uint64_t v: {s.getCompleted(), s.getRefusedBusy(), s.getRefusedRate(),
                    s.getFailedHandshake(), s.getFailedAlpn(), s.getFailedTimeout(), s.getFailedTruncated(),
                    s.getFailedOversized(), s.getFailedUnknownCritical(),
                    s.getFailedBadRequest(), s.getFailedIo()}) {
    KJ_REQUIRE(v <= sessions, "an ntskd counter exceeds the sessions");
  }
  KJ_REQUIRE(s.getCookiesIssued() <= 8 * sessions, "more cookies than 8 per session");
  KJ_REQUIRE(s.getOpenConnections() <= 1'000'000, "open connections out of range");
  KJ_REQUIRE(s.getKeyAgeNs() >= -1, "negative key age");
}

void validateUpstreamSample(ipc::UpstreamSample::Reader s) {
  // netd's raw exchange with an upstream server.
  KJ_REQUIRE(s.getServer() < MAX_SERVERS, "server index out of range", s.getServer());
  KJ_REQUIRE(s.getAddress().size() > 0 && s.getAddress().size() <= 45, "bad server address");
  for (char ch: s.getAddress()) {
    KJ_REQUIRE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
               ch == '.' || ch == ':', "server address is not numeric");
  }
  KJ_REQUIRE(s.getPoll() >= 0 && s.getPoll() <= 17, "poll out of range", s.getPoll());
  if (!s.getValid()) return;
  for (int64_t t: {s.getT1Ns(), s.getT2Ns(), s.getT3Ns(), s.getT4Ns()}) {
    KJ_REQUIRE(t >= EARLIEST_NS && t < LATEST_NS, "upstream timestamp out of range", t);
  }
  KJ_REQUIRE(s.getT4Ns() >= s.getT1Ns() && s.getT4Ns() - s.getT1Ns() <= 10 * ntp::NS_PER_S,
             "T4 before T1 or more than 10 s after it");
  KJ_REQUIRE(s.getT3Ns() >= s.getT2Ns() && s.getT3Ns() - s.getT2Ns() <= 10 * ntp::NS_PER_S,
             "T3 before T2 or more than 10 s after it");
  KJ_REQUIRE(s.getStratum() >= 1 && s.getStratum() <= 16, "stratum out of range");
  KJ_REQUIRE(s.getLeap() <= 3, "leap out of range");
  // Root delay and dispersion past 16 s mean nothing usable (RFC 5905 MAXDISP).
  KJ_REQUIRE(s.getRootDelay() <= (16u << 16) && s.getRootDispersion() <= (16u << 16),
             "root delay or dispersion out of range");
}

void validateDaemonInfo(ipc::DaemonInfo::Reader info, ipc::Role expected) {
  KJ_REQUIRE(info.getRole() == expected, "peer claims another role");
  KJ_REQUIRE(info.getPid() > 0, "bad pid");
  KJ_REQUIRE(info.getSeccomp() <= 2, "bad seccomp mode");
  KJ_REQUIRE(info.getVersion().size() <= MAX_TEXT, "version too long");
  KJ_REQUIRE(info.getUser().size() <= MAX_TEXT, "user name too long");
}

}  // namespace horloge::clockd
