// monitord's HTTP semantics, independent of TLS and sockets: GET/HEAD only, no request body,
// /status, /health, /metrics (clockd asked per request), / and /dashboard.js (compiled in),
// /history.json (History); with a bearer token configured, every path but /health needs it. A request that reaches clockd asks it once, with a deadline; monitord
// never caches and never writes.
#pragma once
#include "endpoints.h"
#include "history.h"
#include <capnp/compat/json.h>
#include <horloge.capnp.h>
#include <kj/compat/http.h>
#include <kj/function.h>
#include <kj/timer.h>

namespace horloge::monitord {

// Where the service gets clockd's StatusReader: nullptr while clockd is away.
using ReaderSource = kj::Function<kj::Maybe<ipc::StatusReader::Client>()>;

// kj-http bounds the request head at 128 KiB itself; below that, these are ours (431).
constexpr size_t MAX_HEADER_BYTES = 8192;
constexpr size_t MAX_HEADERS = 64;

class MonitorService final: public kj::HttpService {
public:
  // Registers the response headers it sets in `headers`; the table must be built before the
  // first request. `self` must outlive the service.
  MonitorService(kj::HttpHeaderTable::Builder& headers, kj::Timer& timer, ReaderSource clockd,
                 ipc::DaemonInfo::Reader self, kj::Duration clockdTimeout = 2 * kj::SECONDS);

  // Every request but /health must then carry `Authorization: Bearer <token>` (else 401).
  void requireToken(kj::String token) { this->token = kj::mv(token); }
  // Where /history.json comes from; without one it is 404. Must outlive the service.
  void setHistory(const History& history) { this->history = history; }
  // monitord's own connection counters for /metrics. Must outlive the service.
  void setConnectionStats(const ConnectionStats& stats) { connections = &stats; }

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& requestBody,
                            Response& response) override;

private:
  const kj::HttpHeaderTable& table;
  kj::HttpHeaderId allow, cacheControl, contentTypeOptions, authorization, wwwAuthenticate, csp,
      frameOptions;
  kj::Timer& timer;
  ReaderSource clockd;
  ipc::DaemonInfo::Reader self;
  kj::Duration clockdTimeout;
  capnp::JsonCodec json;
  kj::Maybe<kj::String> token;
  kj::Maybe<const History&> history;
  const ConnectionStats* connections = nullptr;

  bool authorised(const kj::HttpHeaders& headers) const;
  kj::Maybe<Reply> local(Endpoint endpoint);   // endpoints answered without clockd

  kj::Promise<void> send(Response& response, Reply reply, bool withBody);
  kj::Promise<Reply> fetch(Endpoint endpoint);
};

}  // namespace horloge::monitord
