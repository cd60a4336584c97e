// monitord's transport: accepts TCP connections itself (rather than TlsContext::wrapPort) so
// that it can bound every connection, including those still in the TLS handshake: who gets a
// slot and for how long is connection-slots.h's rule, applied here before the first byte is
// read and then every SWEEP. Failed handshakes are logged through a rate limit instead of kj's
// unbounded KJ_LOG. A request saying `Connection: close` gets its answer, then the connection
// is closed (kj-http 0.9 would wait for another request).
#pragma once
#include "client-access.h"
#include "connection-slots.h"
#include "log.h"
#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/compat/tls.h>
#include <kj/map.h>

namespace horloge::monitord {

struct HttpsLimits {
  SlotLimits slots;
  kj::Duration headerTimeout = 5 * kj::SECONDS;     // kj-http's own, a backstop to `slots`
  kj::Duration pipelineTimeout = 5 * kj::SECONDS;   // idem, idle keep-alive
  kj::Duration sweep = 250 * kj::MILLISECONDS;      // how often deadlines are checked
};

// Turns handler exceptions into a bare 500 (no exception text to the client) and malformed
// requests into a bare 400; both logged with a rate limit.
class ErrorPages final: public kj::HttpServerErrorHandler {
public:
  kj::Promise<void> handleClientProtocolError(kj::HttpHeaders::ProtocolError error,
                                              kj::HttpService::Response& response) override;
  kj::Promise<void> handleApplicationError(kj::Exception exception,
                                           kj::Maybe<kj::HttpService::Response&> response) override;
  kj::Promise<void> handleNoResponse(kj::HttpService::Response& response) override;

private:
  kj::HttpHeaderTable table;   // empty: error pages only set built-in headers
  log::RateLimited log{30};

  kj::Promise<void> badRequest(kj::HttpService::Response& response, unsigned status,
                               kj::StringPtr text);
};

class HttpsServer final: private kj::HttpServerCallbacks {
public:
  // `tls` must have a timer and an acceptTimeout (a backstop) past `limits.slots.handshake`.
  // `access` (optional, must outlive the server) decides which peers may connect at all and
  // who the insiders are.
  HttpsServer(kj::Timer& timer, kj::TlsContext& tls, const kj::HttpHeaderTable& headerTable,
              kj::HttpService& service, HttpsLimits limits = {},
              const ClientAccess* access = nullptr);
  KJ_DISALLOW_COPY(HttpsServer);

  // Accepts on `port` (plain TCP) until it fails; never resolves otherwise.
  kj::Promise<void> listen(kj::ConnectionReceiver& port);

  unsigned activeConnections() const { return slots.stats().open; }
  const ConnectionStats& stats() const { return slots.stats(); }

private:
  struct Connection;
  class ClientStream;
  class ConnectionService;
  class ClosingResponse;

  kj::Timer& timer;
  kj::TlsContext& tls;
  kj::HttpService& service;
  HttpsLimits limits;
  ConnectionSlots slots;
  ErrorPages errorPages;
  kj::HttpServer http;
  kj::HashMap<uint64_t, Connection*> connections;
  bool closeNext = false;   // the response being started ends its connection
  log::RateLimited connectionLog{30};

  struct TaskErrors final: kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override {}   // serve() already logged it
  } taskErrors;
  kj::TaskSet tasks;

  kj::Promise<void> acceptLoop(kj::ConnectionReceiver& port);
  kj::Promise<void> serve(uint64_t id, kj::AuthenticatedStream connection);
  void cut(uint64_t id);
  kj::Promise<void> sweepLoop();
  bool shouldClose() override;
};

}  // namespace horloge::monitord
