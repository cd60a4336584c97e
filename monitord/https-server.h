// monitord's transport: accepts TCP connections itself (rather than TlsContext::wrapPort) so
// that it can bound every connection, including those still in the TLS handshake, and so that
// failed handshakes are logged through a rate limit instead of kj's unbounded KJ_LOG.
#pragma once
#include "client-access.h"
#include "log.h"
#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/compat/tls.h>

namespace horloge::monitord {

struct HttpsLimits {
  unsigned maxConnections = 64;                      // above this, new connections are closed
  kj::Duration handshakeTimeout = 5 * kj::SECONDS;   // TLS handshake (TlsContext acceptTimeout)
  kj::Duration headerTimeout = 5 * kj::SECONDS;      // whole request head
  kj::Duration pipelineTimeout = 5 * kj::SECONDS;    // idle keep-alive
  kj::Duration maxLifetime = 120 * kj::SECONDS;      // so no client can sit on a slot
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
};

class HttpsServer {
public:
  // `tls` must have been made with `limits.handshakeTimeout` as its acceptTimeout (and a timer).
  // `access` (optional, must outlive the server) decides which peers may connect at all.
  HttpsServer(kj::Timer& timer, kj::TlsContext& tls, const kj::HttpHeaderTable& headerTable,
              kj::HttpService& service, HttpsLimits limits = {},
              const ClientAccess* access = nullptr);
  KJ_DISALLOW_COPY(HttpsServer);

  // Accepts on `port` (plain TCP) until it fails; never resolves otherwise.
  kj::Promise<void> listen(kj::ConnectionReceiver& port);

  unsigned activeConnections() const { return active; }

private:
  kj::Timer& timer;
  kj::TlsContext& tls;
  HttpsLimits limits;
  const ClientAccess* access;
  ErrorPages errorPages;
  kj::HttpServer http;
  unsigned active = 0;
  log::RateLimited connectionLog{30};

  struct TaskErrors final: kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override {}   // serve() already logged it
  } taskErrors;
  kj::TaskSet connections;

  kj::Promise<void> serve(kj::AuthenticatedStream connection);
  bool admitted(kj::AuthenticatedStream& connection);
};

}  // namespace horloge::monitord
