#include "https-server.h"
#include <kj/debug.h>
#include <sys/socket.h>

namespace horloge::monitord {

namespace {

kj::HttpServerSettings settingsFor(const HttpsLimits& limits, ErrorPages& errorPages) {
  kj::HttpServerSettings settings;
  settings.headerTimeout = limits.headerTimeout;
  settings.pipelineTimeout = limits.pipelineTimeout;
  // No endpoint reads a body; do not wait for one that a client keeps sending.
  settings.canceledUploadGracePeriod = 100 * kj::MILLISECONDS;
  settings.canceledUploadGraceBytes = 0;
  settings.errorHandler = errorPages;
  return settings;
}

}  // namespace

kj::Promise<void> ErrorPages::handleClientProtocolError(kj::HttpHeaders::ProtocolError error,
                                                        kj::HttpService::Response& response) {
  log.warn(kj::str("bad HTTP request: ", error.description));
  kj::HttpHeaders headers(table);
  headers.set(kj::HttpHeaderId::CONTENT_TYPE, "text/plain; charset=utf-8");
  kj::StringPtr body = "bad request\n";
  auto stream = response.send(error.statusCode, error.statusMessage, headers, body.size());
  auto promise = stream->write(body.begin(), body.size());
  return promise.attach(kj::mv(stream));
}

kj::Promise<void> ErrorPages::handleApplicationError(
    kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) {
  // A client that went away is not an error worth a line.
  if (exception.getType() == kj::Exception::Type::DISCONNECTED) return kj::READY_NOW;
  log.warn(kj::str("request failed: ", exception.getDescription()));
  KJ_IF_MAYBE(r, response) {
    kj::HttpHeaders headers(table);
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, "text/plain; charset=utf-8");
    kj::StringPtr body = "internal error\n";
    auto stream = r->send(500, "Internal Server Error", headers, body.size());
    auto promise = stream->write(body.begin(), body.size());
    return promise.attach(kj::mv(stream));
  }
  return kj::READY_NOW;
}

kj::Promise<void> ErrorPages::handleNoResponse(kj::HttpService::Response& response) {
  return handleApplicationError(KJ_EXCEPTION(FAILED, "handler sent no response"), response);
}

HttpsServer::HttpsServer(kj::Timer& timer, kj::TlsContext& tls,
                         const kj::HttpHeaderTable& headerTable, kj::HttpService& service,
                         HttpsLimits limits, const ClientAccess* access)
    : timer(timer), tls(tls), limits(limits), access(access),
      http(timer, headerTable, service, settingsFor(limits, errorPages)),
      connections(taskErrors) {}

kj::Promise<void> HttpsServer::listen(kj::ConnectionReceiver& port) {
  return port.acceptAuthenticated().then([this, &port](kj::AuthenticatedStream connection) {
    if (active >= limits.maxConnections) {
      // Dropping the stream closes it: cheaper than any reply, and nothing was read yet.
      connectionLog.warn(kj::str("over ", limits.maxConnections, " connections, closing one from ",
                                 connection.peerIdentity->toString()));
    } else if (admitted(connection)) {
      connections.add(serve(kj::mv(connection)));
    }
    return listen(port);
  });
}

bool HttpsServer::admitted(kj::AuthenticatedStream& connection) {
  if (access == nullptr || !access->restricted()) return true;
  sockaddr_storage peer{};
  uint length = sizeof(peer);
  connection.stream->getpeername(reinterpret_cast<sockaddr*>(&peer), &length);
  if (access->allows(reinterpret_cast<const sockaddr*>(&peer))) return true;
  // Closed before the handshake: the refused host learns nothing but a reset.
  connectionLog.warn(kj::str("connection from ", connection.peerIdentity->toString(),
                             " refused: not in `monitor allow`"));
  return false;
}

kj::Promise<void> HttpsServer::serve(kj::AuthenticatedStream connection) {
  ++active;
  auto peer = connection.peerIdentity->toString();
  auto release = kj::defer([this]() { --active; });
  auto lifetime = timer.afterDelay(limits.maxLifetime);

  return tls.wrapServer(kj::mv(connection.stream))
      .then([this](kj::Own<kj::AsyncIoStream> stream) {
        return http.listenHttp(kj::mv(stream));
      })
      .exclusiveJoin(kj::mv(lifetime))
      .catch_([this, peer = kj::mv(peer)](kj::Exception&& e) {
        // Handshake failures (old TLS versions, port scans, timeouts) and resets land here.
        connectionLog.warn(kj::str("connection from ", peer, ": ", e.getDescription()));
      })
      .attach(kj::mv(release));
}

}  // namespace horloge::monitord
