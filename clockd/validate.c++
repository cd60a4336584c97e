#include "validate.h"
#include <kj/debug.h>

namespace horloge::clockd {

void validateSample(ipc::RefSample::Reader s) {
  KJ_REQUIRE(s.getSourceId() < MAX_SOURCES, "sourceId out of range", s.getSourceId());
  KJ_REQUIRE(s.getSystemTimeNs() >= EARLIEST_NS && s.getSystemTimeNs() < LATEST_NS,
             "systemTimeNs out of range", s.getSystemTimeNs());
  KJ_REQUIRE(s.getReferenceTimeNs() >= EARLIEST_NS && s.getReferenceTimeNs() < LATEST_NS,
             "referenceTimeNs out of range", s.getReferenceTimeNs());
  KJ_REQUIRE(s.getErrorNs() > 0 && s.getErrorNs() <= 1'000'000'000u, "errorNs out of range",
             s.getErrorNs());
  KJ_REQUIRE(static_cast<uint16_t>(s.getLeap()) <= 3, "unknown leap value");
}

void validateRefclockStatus(capnp::List<ipc::RefclockStatus>::Reader list) {
  KJ_REQUIRE(list.size() <= MAX_SOURCES, "too many refclock entries", list.size());
  for (auto r: list) {
    KJ_REQUIRE(r.getSourceId() < MAX_SOURCES, "sourceId out of range");
    KJ_REQUIRE(r.getName().size() <= MAX_TEXT && r.getDriver().size() <= MAX_TEXT &&
               r.getFault().size() <= MAX_TEXT, "refclock text too long");
    KJ_REQUIRE(r.getNmeaDelayNs() >= -1'000'000'000 && r.getNmeaDelayNs() <= 2'000'000'000,
               "nmeaDelayNs out of range");
    KJ_REQUIRE(r.getSatellitesUsed() <= 255 && r.getFixQuality() <= 9, "bad GNSS fix fields");
  }
}

void validateNetdStats(ipc::NetdStats::Reader s) {
  KJ_REQUIRE(s.getAnswered() <= s.getReceived(), "answered more than received");
  KJ_REQUIRE(s.getDropped() <= s.getReceived(), "dropped more than received");
  KJ_REQUIRE(s.getStateAgeNs() >= -1, "negative state age");
}

void validateDaemonInfo(ipc::DaemonInfo::Reader info, ipc::Role expected) {
  KJ_REQUIRE(info.getRole() == expected, "peer claims another role");
  KJ_REQUIRE(info.getPid() > 0, "bad pid");
  KJ_REQUIRE(info.getSeccomp() <= 2, "bad seccomp mode");
  KJ_REQUIRE(info.getVersion().size() <= MAX_TEXT, "version too long");
}

}  // namespace horloge::clockd
