#include "endpoints.h"
#include "host-info.h"
#include "ntp-time.h"
#include "ipc.h"
#include "metrics.h"
#include <capnp/message.h>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace horloge::monitord {

Endpoint route(kj::StringPtr url) {
  size_t end = 0;
  while (end < url.size() && url[end] != '?' && url[end] != '#') ++end;
  auto path = url.slice(0, end);
  if (path == "/status"_kj) return Endpoint::STATUS;
  if (path == "/health"_kj) return Endpoint::HEALTH;
  if (path == "/metrics"_kj) return Endpoint::METRICS;
  if (path == "/history.json"_kj) return Endpoint::HISTORY;
  if (path == "/"_kj) return Endpoint::DASHBOARD;
  if (path == "/dashboard.js"_kj) return Endpoint::DASHBOARD_JS;
  return Endpoint::NOT_FOUND;
}

namespace {

constexpr kj::StringPtr JSON_TYPE = "application/json"_kj;
constexpr kj::StringPtr TEXT_TYPE = "text/plain; charset=utf-8"_kj;
constexpr kj::StringPtr PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"_kj;

kj::String encode(const capnp::JsonCodec& json, ipc::SystemStatus::Reader status) {
  return kj::str(json.encode(status), '\n');
}

// Seconds in the unit a reader expects for a clock offset.
kj::String seconds(double s) {
  char buf[48];
  double a = std::fabs(s);
  if (!std::isfinite(s)) snprintf(buf, sizeof(buf), "%g s", s);
  else if (a < 1e-6) snprintf(buf, sizeof(buf), "%+.0f ns", s * 1e9);
  else if (a < 1e-3) snprintf(buf, sizeof(buf), "%+.3f us", s * 1e6);
  else if (a < 1) snprintf(buf, sizeof(buf), "%+.3f ms", s * 1e3);
  else snprintf(buf, sizeof(buf), "%+.3f s", s);
  return kj::heapString(buf);
}

// Keeps a reason from clockd on one line of a text/plain reply.
kj::String oneLine(kj::StringPtr text) {
  auto out = kj::heapString(text);
  for (char& c: out) if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

Reply statusReply(const capnp::JsonCodec& json, ipc::SystemStatus::Reader fromClockd,
                  ipc::DaemonInfo::Reader self) {
  capnp::MallocMessageBuilder message;
  message.setRoot(fromClockd);
  auto status = message.getRoot<ipc::SystemStatus>();
  status.setMonitord(self);
  fillHostInfo(status.initHost());
  return {200, "OK", JSON_TYPE, encode(json, status.asReader())};
}

Reply unreachableStatusReply(const capnp::JsonCodec& json, ipc::DaemonInfo::Reader self,
                             kj::StringPtr why, int64_t nowNs) {
  capnp::MallocMessageBuilder message;
  auto status = message.initRoot<ipc::SystemStatus>();
  status.setGeneratedNs(nowNs);
  status.setMonitord(self);
  fillHostInfo(status.initHost());
  auto clock = status.initClock();
  clock.setState(ipc::SyncState::UNSYNCHRONISED);
  clock.setReason(kj::str("clockd unreachable: ", why));
  status.initRefclockd().setConnected(false);
  status.initNetd().setConnected(false);
  return {503, "Service Unavailable", JSON_TYPE, encode(json, status.asReader())};
}

namespace {

// Why netd's clients are not getting what clockd says, or "" when they are.
kj::String servedProblem(ipc::SystemStatus::Reader status) {
  auto netd = status.getNetd();
  if (!netd.getConnected()) return kj::str("netd is not attached to clockd");
  int64_t silent = status.getGeneratedNs() - netd.getLastSeenNs();
  if (silent > NETD_STALE_NS) {
    return kj::str("netd has not reported for ", silent / ntp::NS_PER_S, " s");
  }
  auto body = netd.getBody();
  if (body.getStateAgeNs() < 0) return kj::str("netd has no state from clockd");
  if (body.getStateAgeNs() > NETD_STALE_NS) {
    return kj::str("netd's state is ", body.getStateAgeNs() / ntp::NS_PER_S,
                   " s old: clockd's pushes do not reach it");
  }
  if (body.getServedLeap() == 3 || body.getServedStratum() == 0 ||
      body.getServedStratum() >= 16) {
    return kj::str("netd serves LI=", body.getServedLeap(), ", stratum ",
                   body.getServedStratum(), " (unsynchronised)");
  }
  return kj::String();
}

// Lines a monitor can alert on without failing the check: the time served is right, but
// something needs an operator before it is not.
kj::String warnings(ipc::SystemStatus::Reader status) {
  auto leap = status.getClock().getLeapAlarm();
  if (leap.size() == 0) return kj::str();
  return kj::str("warning: leap seconds: ", oneLine(leap), "\n");
}

}  // namespace

Reply healthReply(ipc::SystemStatus::Reader fromClockd) {
  auto clock = fromClockd.getClock();
  // A GPS its peers say is wrong (fault or spoofing) needs an operator, whatever is served.
  if (clock.getGpsAlarm().size() > 0) {
    return {503, "Service Unavailable", TEXT_TYPE,
            kj::str("GPS alarm: ", oneLine(clock.getGpsAlarm()), "\n", warnings(fromClockd))};
  }
  if (clock.getState() == ipc::SyncState::LOCKED) {
    auto problem = servedProblem(fromClockd);
    if (problem.size() > 0) {
      return {503, "Service Unavailable", TEXT_TYPE,
              kj::str("not serving: ", problem, " while clockd is synchronised to ",
                      oneLine(clock.getRefid()), "\n", warnings(fromClockd))};
    }
    return {200, "OK", TEXT_TYPE,
            kj::str("ok: synchronised to ", oneLine(clock.getRefid()), ", stratum ",
                    clock.getServer().getStratum(), ", offset ", seconds(clock.getOffset()),
                    "\n", warnings(fromClockd))};
  }
  auto reason = clock.getReason();
  return {503, "Service Unavailable", TEXT_TYPE,
          kj::str(ipc::syncStateName(clock.getState()),
                  reason.size() > 0 ? kj::str(": ", oneLine(reason)) : kj::String(), "\n",
                  warnings(fromClockd))};
}

Reply unreachableHealthReply(kj::StringPtr why) {
  return {503, "Service Unavailable", TEXT_TYPE, kj::str("clockd unreachable: ", oneLine(why), "\n")};
}

Reply metricsReply(ipc::SystemStatus::Reader fromClockd, ipc::DaemonInfo::Reader self,
                   const ConnectionStats* connections) {
  return {200, "OK", PROMETHEUS_TYPE, renderMetrics(fromClockd, self, connections)};
}

Reply unreachableMetricsReply(ipc::DaemonInfo::Reader self, const ConnectionStats* connections) {
  return {200, "OK", PROMETHEUS_TYPE, renderUnreachableMetrics(self, connections)};
}

}  // namespace horloge::monitord
