#include "views.h"
#include "ipc.h"
#include "ntp-time.h"
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace horloge::ctl {

namespace {

kj::Array<kj::String> headers(std::initializer_list<kj::StringPtr> names) {
  return KJ_MAP(n, names) { return kj::str(n); };
}

View view(kj::StringPtr name, std::initializer_list<kj::StringPtr> columns) {
  return View{kj::str(name), headers(columns), {}};
}

// The name operators know a source by: its receiver's name for a refclock, its address for an
// upstream server.
kj::String sourceName(ipc::SystemStatus::Reader status, ipc::SourceStatus::Reader s) {
  if (s.getName().size() > 0) return kj::str(s.getName());
  for (auto rc: status.getRefclockd().getBody()) {
    if (rc.getSourceId() == s.getSourceId() && rc.getName().size() > 0) {
      return kj::str(rc.getName());
    }
  }
  return kj::str(s.getKind(), s.getSourceId());
}

kj::String octal(unsigned v) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%o", v);
  return kj::str(buf);
}

Cell markCell(kj::StringPtr mark) {
  // Only the five documented marks reach the terminal.
  for (kj::StringPtr known: {"*"_kj, "+"_kj, "-"_kj, "x"_kj, "?"_kj}) {
    if (mark == known) return text(mark);
  }
  return text("?");
}

kj::Array<View> sources(ipc::SystemStatus::Reader status) {
  // Stratum, poll and reach as chronyc shows them; a refclock is stratum 0, sampled each second.
  auto v = view("sources", {"M", "Name", "Kind", "St", "Poll", "Reach", "Offset", "Error",
                            "Jitter", "Last"});
  for (auto s: status.getSources()) {
    bool ntp = s.getKind() == "ntp";
    v.row(markCell(s.getMark()), text(sourceName(status, s)), text(s.getKind()),
          count(s.getStratum()), integer(s.getPoll()), text(ntp ? octal(s.getReach()) : kj::str("-")),
          seconds(s.getOffset(), true), seconds(s.getError(), false),
          seconds(s.getJitter(), false), ago(s.getLastSampleNs(), status.getGeneratedNs()));
  }
  return kj::arr(kj::mv(v));
}

kj::Array<View> sourcestats(ipc::SystemStatus::Reader status) {
  auto v = view("sourcestats", {"Name", "Kind", "NP", "Offset", "Std Dev", "Jitter"});
  for (auto s: status.getSources()) {
    v.row(text(sourceName(status, s)), text(s.getKind()), count(s.getSamples()),
          seconds(s.getOffset(), true), seconds(s.getError(), false),
          seconds(s.getJitter(), false));
  }
  return kj::arr(kj::mv(v));
}

kj::StringPtr leapName(uint8_t li) {
  static const kj::StringPtr names[] = {"normal", "insert second", "delete second",
                                        "not synchronised"};
  return names[li & 3];
}

kj::Array<View> tracking(ipc::SystemStatus::Reader status) {
  auto c = status.getClock();
  auto server = c.getServer();
  auto v = view("tracking", {"Field", "Value"});
  v.row(text("State"), text(ipc::syncStateName(c.getState())));
  v.row(text("Reason"), text(c.getReason()));
  v.row(text("Reference ID"), text(c.getRefid()));
  v.row(text("Stratum"), count(server.getStratum()));
  int64_t refNs = server.getReferenceTime() == 0
      ? 0 : ntp::toUnixNs(server.getReferenceTime(), status.getGeneratedNs());
  v.row(text("Ref time"), ago(refNs, status.getGeneratedNs()));
  v.row(text("System time"), seconds(c.getOffset(), true));
  v.row(text("Offset sigma"), seconds(c.getOffsetSigma(), false));
  v.row(text("Jitter"), seconds(c.getJitter(), false));
  v.row(text("Frequency"), fixed(c.getFrequency(), "%+.3f", "ppm"));
  v.row(text("Frequency sigma"), fixed(c.getFrequencySigma(), "%.3f", "ppm"));
  v.row(text("Wander"), fixed(c.getWander(), "%.3g", "s/s/sqrt(s)"));
  v.row(text("Root delay"), seconds(ntp::secondsFromShort(server.getRootDelay()), false));
  v.row(text("Root dispersion"), seconds(ntp::secondsFromShort(server.getRootDispersion()), false));
  v.row(text("Leap status"), text(leapName(server.getLeap())));
  v.row(text("Leap source"), text(c.getLeapSource().size() > 0 ? c.getLeapSource() : "none"_kj));
  v.row(text("Leap expiry"), utcTime(c.getLeapValidUntilNs()));
  v.row(text("Leap alarm"), text(c.getLeapAlarm()));
  v.row(text("Steps"), count(c.getSteps()));
  v.row(text("Backend"), text(c.getBackend()));
  return kj::arr(kj::mv(v));
}

kj::Array<View> serverstats(ipc::SystemStatus::Reader status) {
  auto s = status.getNetd().getBody();
  auto v = view("serverstats", {"Counter", "Value"});
  const std::pair<kj::StringPtr, uint64_t> rows[] = {
    {"NTP packets received", s.getReceived()}, {"NTP packets answered", s.getAnswered()},
    {"NTP packets dropped", s.getDropped()}, {"Rate limited", s.getRateLimited()},
    {"KoD sent", s.getKodSent()}, {"Denied", s.getDroppedDenied()},
    {"Bad length", s.getDroppedLength()}, {"Bad version", s.getDroppedVersion()},
    {"Not client mode", s.getDroppedMode()}, {"Bad extension", s.getDroppedExtension()},
    {"Authenticated", s.getDroppedAuth()}, {"Bad source", s.getDroppedSource()},
    {"From own address", s.getDroppedOwnAddress()}, {"Send errors", s.getSendErrors()},
    {"NTPv1 requests", s.getRequestsV1()}, {"NTPv2 requests", s.getRequestsV2()},
    {"NTPv3 requests", s.getRequestsV3()}, {"NTPv4 requests", s.getRequestsV4()},
    {"Interleaved replies", s.getInterleaved()}, {"Kernel RX timestamps", s.getKernelRxStamps()},
    {"User RX timestamps", s.getUserRxStamps()}, {"Kernel TX timestamps", s.getKernelTxStamps()},
  };
  for (auto& [name, n]: rows) v.row(text(name), count(n));
  v.row(text("State age"), seconds(double(s.getStateAgeNs()) * 1e-9, false));
  return kj::arr(kj::mv(v));
}

kj::Array<View> clients(ipc::SystemStatus::Reader status) {
  auto v = view("clients", {"Address", "NTP", "Drop", "KoD", "Last"});
  for (auto c: status.getNetd().getBody().getTopClients()) {
    auto last = seconds(double(c.getLastAgoNs()) * 1e-9, false);
    last.human = kj::str(last.human, " ago");
    v.row(text(c.getAddress()), count(c.getRequests()), count(c.getRateLimited()),
          count(c.getKodSent()), kj::mv(last));
  }
  return kj::arr(kj::mv(v));
}

kj::Array<View> gnss(ipc::SystemStatus::Reader status) {
  auto receivers = view("receivers", {"Receiver", "Locked", "Fix", "Used", "In view", "HDOP",
                                      "PDOP", "NMEA delay", "Anomaly", "Fault"});
  auto sats = view("satellites", {"Receiver", "System", "PRN", "Elevation", "Azimuth", "SNR"});
  // What u-blox receivers (`ubx`) say about leap seconds (UBX-NAV-TIMELS).
  auto leap = view("leap", {"Receiver", "TAI-UTC", "Change", "Before", "Reported", "UBX frames",
                            "UBX bad"});
  for (auto rc: status.getRefclockd().getBody()) {
    auto l = rc.getLeap();
    if (rc.getUbxFrames() > 0 || rc.getUbxBad() > 0 || l.getReceivedNs() != 0) {
      bool known = l.getChangeValid();
      leap.row(text(rc.getName()),
               l.getCurrentValid() ? integer(l.getTaiMinusUtc()) : text("-"),
               text(!known ? "-"_kj : l.getChange() > 0 ? "insert"_kj : l.getChange() < 0 ? "delete"_kj : "none"_kj),
               utcTime(known && l.getChange() != 0 ? l.getAtNs() : 0),
               ago(l.getReceivedNs(), status.getGeneratedNs()), count(rc.getUbxFrames()),
               count(rc.getUbxBad()));
    }
    receivers.row(text(rc.getName()), text(rc.getLocked() ? "yes" : "no"),
                  count(rc.getFixQuality()), count(rc.getSatellitesUsed()),
                  count(rc.getSatellitesInView()), fixed(rc.getHdop(), "%.1f", ""),
                  fixed(rc.getPdop(), "%.1f", ""),
                  seconds(double(rc.getNmeaDelayNs()) * 1e-9, false), text(rc.getAnomaly()),
                  text(rc.getFault()));
    for (auto s: rc.getSatellites()) {
      sats.row(text(rc.getName()), text(s.getSystem()), count(s.getPrn()),
               integer(s.getElevation()), count(s.getAzimuth()), count(s.getSnr()));
    }
  }
  if (leap.rows.size() == 0) return kj::arr(kj::mv(receivers), kj::mv(sats));
  return kj::arr(kj::mv(receivers), kj::mv(sats), kj::mv(leap));
}

kj::String capHex(uint64_t caps) {
  char buf[24];
  snprintf(buf, sizeof(buf), "%016" PRIx64, caps);
  return kj::heapString(buf);
}

kj::Array<View> statusViews(ipc::SystemStatus::Reader status) {
  auto daemons = view("daemons", {"Daemon", "State", "PID", "UID", "CapEff", "NoNewPrivs",
                                  "Seccomp"});
  auto row = [&](kj::StringPtr name, bool up, ipc::DaemonInfo::Reader info) {
    static const kj::StringPtr modes[] = {"off", "strict", "filter", "?"};
    if (!up) {
      daemons.row(text(name), text("down"), text(""), text(""), text(""), text(""), text(""));
      return;
    }
    daemons.row(text(name), text("up"), count(info.getPid()), count(info.getUid()),
                text(capHex(info.getCapEff())), text(info.getNoNewPrivs() ? "yes" : "no"),
                text(modes[kj::min(info.getSeccomp(), 3)]));
  };
  row("clockd", true, status.getClockd());
  row("refclockd", status.getRefclockd().getConnected(), status.getRefclockd().getInfo());
  row("netd", status.getNetd().getConnected(), status.getNetd().getInfo());
  auto clock = tracking(status);
  clock[0].name = kj::str("clock");
  return kj::arr(kj::mv(clock[0]), kj::mv(daemons));
}

const Command COMMANDS[] = {
  {"status", "", statusViews},
  {"sources", "", sources},
  {"sourcestats", "", sourcestats},
  {"tracking", "", tracking},
  {"serverstats", "netd", serverstats},
  {"clients", "netd", clients},
  {"gnss", "refclockd", gnss},
};

}  // namespace

kj::ArrayPtr<const Command> commands() { return COMMANDS; }

kj::Maybe<const Command&> findCommand(kj::StringPtr name) {
  for (auto& c: COMMANDS) if (c.name == name) return c;
  return nullptr;
}

}  // namespace horloge::ctl
