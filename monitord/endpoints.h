// What monitord answers on each path, as pure functions of clockd's status (or of its absence),
// so that the bodies are tested without sockets. http-service.h puts them on the wire.
#pragma once
#include "connection-slots.h"
#include <capnp/compat/json.h>
#include <horloge.capnp.h>
#include <kj/string.h>

namespace horloge::monitord {

enum class Endpoint { STATUS, HEALTH, METRICS, HISTORY, DASHBOARD, DASHBOARD_JS, NOT_FOUND };

// Whether answering needs a fresh status from clockd.
inline bool asksClockd(Endpoint e) {
  return e == Endpoint::STATUS || e == Endpoint::HEALTH || e == Endpoint::METRICS;
}

// Maps a request target to an endpoint. The query string and fragment are ignored; anything
// but an exact path match is NOT_FOUND (no prefix matching, no normalisation of "..").
Endpoint route(kj::StringPtr url);

struct Reply {
  unsigned status;
  kj::StringPtr statusText;
  kj::StringPtr contentType;
  kj::String body;
};

// 200: clockd's SystemStatus with `monitord` replaced by `self`, as JSON.
Reply statusReply(const capnp::JsonCodec& json, ipc::SystemStatus::Reader fromClockd,
                  ipc::DaemonInfo::Reader self);

// 503: a SystemStatus that holds only `self`, generatedNs = nowNs, and clock.reason
// "clockd unreachable: <why>" with clock.state unsynchronised and both peers disconnected.
Reply unreachableStatusReply(const capnp::JsonCodec& json, ipc::DaemonInfo::Reader self,
                             kj::StringPtr why, int64_t nowNs);

// How long netd may go without reporting, or without a push from clockd, before /health says
// its clients are not getting clockd's time (both happen every second).
constexpr int64_t NETD_STALE_NS = 5'000'000'000;

// /health, the rule for load balancers and monitors (docs/monitoring.md):
//   200 "ok: synchronised ..." when clock.state is locked AND netd serves it: attached to
//       clockd, reported within NETD_STALE_NS, its state from clockd no older than that, and
//       its replies not LI=3 / stratum 16;
//   503 "not serving: <why> while clockd is synchronised to ..." when clockd is locked but
//       netd's clients do not get it; 503 with the state and reason when clockd is not locked;
//       503 "GPS alarm: ..." whatever the state.
// Then, on any of them, one "warning: ..." line per condition that needs an operator but does
// not (yet) make the time served wrong: an expired or unusable leap second table.
Reply healthReply(ipc::SystemStatus::Reader fromClockd);
Reply unreachableHealthReply(kj::StringPtr why);

// 200 text/plain; version=0.0.4: the Prometheus exposition (metrics.h), also when clockd is away;
// with monitord's own connection counters when given.
Reply metricsReply(ipc::SystemStatus::Reader fromClockd, ipc::DaemonInfo::Reader self,
                   const ConnectionStats* connections = nullptr);
Reply unreachableMetricsReply(ipc::DaemonInfo::Reader self,
                              const ConnectionStats* connections = nullptr);

}  // namespace horloge::monitord
