// monitord's HTTP semantics, independent of TLS and sockets: GET/HEAD only, no request body,
// /status and /health. A request that reaches clockd asks it once, with a deadline; monitord
// never caches and never writes.
#pragma once
#include "endpoints.h"
#include <capnp/compat/json.h>
#include <horloge.capnp.h>
#include <kj/compat/http.h>
#include <kj/function.h>
#include <kj/timer.h>

namespace horloge::monitord {

// Where the service gets clockd's StatusReader: nullptr while clockd is away.
using ReaderSource = kj::Function<kj::Maybe<ipc::StatusReader::Client>()>;

class MonitorService final: public kj::HttpService {
public:
  // Registers the response headers it sets in `headers`; the table must be built before the
  // first request. `self` must outlive the service.
  MonitorService(kj::HttpHeaderTable::Builder& headers, kj::Timer& timer, ReaderSource clockd,
                 ipc::DaemonInfo::Reader self, kj::Duration clockdTimeout = 2 * kj::SECONDS);

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& requestBody,
                            Response& response) override;

private:
  const kj::HttpHeaderTable& table;
  kj::HttpHeaderId allow, cacheControl, contentTypeOptions;
  kj::Timer& timer;
  ReaderSource clockd;
  ipc::DaemonInfo::Reader self;
  kj::Duration clockdTimeout;
  capnp::JsonCodec json;

  kj::Promise<void> send(Response& response, Reply reply, bool withBody);
  kj::Promise<Reply> fetch(Endpoint endpoint);
};

}  // namespace horloge::monitord
