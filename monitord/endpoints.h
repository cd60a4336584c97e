// What monitord answers on each path, as pure functions of clockd's status (or of its absence),
// so that the bodies are tested without sockets. http-service.h puts them on the wire.
#pragma once
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

// 200 "ok: synchronised ..." when clock.state is locked, else 503 with the state and reason.
Reply healthReply(ipc::SystemStatus::Reader fromClockd);
Reply unreachableHealthReply(kj::StringPtr why);

// 200 text/plain; version=0.0.4: the Prometheus exposition (metrics.h), also when clockd is away.
Reply metricsReply(ipc::SystemStatus::Reader fromClockd, ipc::DaemonInfo::Reader self);
Reply unreachableMetricsReply(ipc::DaemonInfo::Reader self);

}  // namespace horloge::monitord
