#include "https-server.h"
#include "forwarding-stream.h"
#include <kj/debug.h>
#include <string_view>
#include <strings.h>
#include <sys/socket.h>

namespace horloge::monitord {

namespace {

kj::HttpServerSettings settingsFor(const HttpsLimits& limits, ErrorPages& errorPages,
                                   kj::HttpServerCallbacks& callbacks) {
  kj::HttpServerSettings settings;
  settings.headerTimeout = limits.headerTimeout;
  settings.pipelineTimeout = limits.pipelineTimeout;
  // No endpoint reads a body; do not wait for one that a client keeps sending.
  settings.canceledUploadGracePeriod = 100 * kj::MILLISECONDS;
  settings.canceledUploadGraceBytes = 0;
  settings.errorHandler = errorPages;
  settings.callbacks = callbacks;
  return settings;
}

// kj-http 0.9 refuses some request framing by throwing from its own code before the service
// is called, which would reach us as an application error (500): a Content-Length it cannot
// read (two of them, "0, 5", among others) or a Transfer-Encoding it does not take. They are
// the client's errors.
bool badFraming(const kj::Exception& e) {
  std::string_view file = e.getFile(), text = e.getDescription().cStr();
  if (file.find("compat/http.c++") == std::string_view::npos) return false;
  return text.find("invalid Content-Length") != std::string_view::npos ||
         text.find("Transfer-Encoding") != std::string_view::npos ||
         text.find("transfer encoding") != std::string_view::npos;
}

// Whether a Connection header's comma-separated options include "close".
bool saysClose(kj::StringPtr value) {
  std::string_view rest = value.cStr();
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view option = rest.substr(0, comma);
    while (!option.empty() && (option.front() == ' ' || option.front() == '\t')) option.remove_prefix(1);
    while (!option.empty() && (option.back() == ' ' || option.back() == '\t')) option.remove_suffix(1);
    if (option.size() == 5 && strncasecmp(option.data(), "close", 5) == 0) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

kj::Promise<void> ErrorPages::badRequest(kj::HttpService::Response& response, unsigned status,
                                         kj::StringPtr text) {
  kj::HttpHeaders headers(table);
  headers.set(kj::HttpHeaderId::CONTENT_TYPE, "text/plain; charset=utf-8");
  kj::StringPtr body = "bad request\n";
  auto stream = response.send(status, text, headers, body.size());
  auto promise = stream->write(body.begin(), body.size());
  return promise.attach(kj::mv(stream));
}

kj::Promise<void> ErrorPages::handleClientProtocolError(kj::HttpHeaders::ProtocolError error,
                                                        kj::HttpService::Response& response) {
  log.warn(kj::str("bad HTTP request: ", error.description));
  return badRequest(response, error.statusCode, error.statusMessage);
}

kj::Promise<void> ErrorPages::handleApplicationError(
    kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) {
  // A client that went away is not an error worth a line.
  if (exception.getType() == kj::Exception::Type::DISCONNECTED) return kj::READY_NOW;
  KJ_IF_MAYBE(r, response) {
    if (badFraming(exception)) {
      log.warn(kj::str("bad HTTP request: ", exception.getDescription()));
      return badRequest(*r, 400, "Bad Request");
    }
  }
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

// ---- one connection ----

struct HttpsServer::Connection {
  uint64_t id;
  kj::String peer;
  kj::Own<kj::PromiseFulfiller<void>> cut;   // fulfilled: closed at once
  bool secured = false;                      // the TLS handshake is done
  bool closeAfterResponse = false;           // the request being served said `Connection: close`
  bool ended = false;                        // it was answered: no further request is read
};

// The TLS stream as kj-http reads it: at its end once the response to a request that said
// `Connection: close` has gone out.
class HttpsServer::ClientStream final: public ForwardingStream {
public:
  ClientStream(kj::Own<kj::AsyncIoStream> inner, Connection& connection)
      : ForwardingStream(kj::mv(inner)), connection(connection) {}
  Connection& connection;

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    if (connection.ended) return size_t(0);
    return inner->tryRead(buffer, minBytes, maxBytes);
  }
};

// The response as the service writes it, so that shouldClose() knows which one ends its
// connection (send() is where kj-http asks).
class HttpsServer::ClosingResponse final: public kj::HttpService::Response {
public:
  ClosingResponse(kj::HttpService::Response& inner, HttpsServer& server, bool closing)
      : inner(inner), server(server), closing(closing) {}

  kj::Own<kj::AsyncOutputStream> send(uint statusCode, kj::StringPtr statusText,
                                      const kj::HttpHeaders& headers,
                                      kj::Maybe<uint64_t> expectedBodySize) override {
    server.closeNext = closing;
    KJ_DEFER(server.closeNext = false);
    return inner.send(statusCode, statusText, headers, expectedBodySize);
  }
  kj::Own<kj::WebSocket> acceptWebSocket(const kj::HttpHeaders& headers) override {
    return inner.acceptWebSocket(headers);
  }

private:
  kj::HttpService::Response& inner;
  HttpsServer& server;
  bool closing;
};

// The service as one connection sees it: the shared MonitorService, with the connection's
// phase kept for the deadlines and `Connection: close` honoured.
class HttpsServer::ConnectionService final: public kj::HttpService {
public:
  ConnectionService(HttpsServer& server, Connection& connection)
      : server(server), connection(connection) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& requestBody,
                            Response& response) override {
    server.slots.setPhase(connection.id, Phase::ACTIVE, server.timer.now());
    connection.closeAfterResponse = false;
    KJ_IF_MAYBE(value, headers.get(kj::HttpHeaderId::CONNECTION)) {
      connection.closeAfterResponse = saysClose(*value);
    }
    auto wrapped = kj::heap<ClosingResponse>(response, server, connection.closeAfterResponse);
    auto answered = kj::defer([this]() {
      server.slots.setPhase(connection.id, Phase::WAITING, server.timer.now());
      if (connection.closeAfterResponse) connection.ended = true;
    });
    return server.service.request(method, url, headers, requestBody, *wrapped)
        .attach(kj::mv(wrapped), kj::mv(answered));
  }

private:
  HttpsServer& server;
  Connection& connection;
};

// ---- the server ----

HttpsServer::HttpsServer(kj::Timer& timer, kj::TlsContext& tls,
                         const kj::HttpHeaderTable& headerTable, kj::HttpService& service,
                         HttpsLimits limits, const ClientAccess* access)
    : timer(timer), tls(tls), service(service), limits(limits), slots(limits.slots, access),
      http(timer, headerTable,
           [this](kj::AsyncIoStream& stream) -> kj::Own<kj::HttpService> {
             // Every stream given to listenHttp() is a ClientStream (serve()).
             return kj::heap<ConnectionService>(*this,
                                                kj::downcast<ClientStream>(stream).connection);
           },
           settingsFor(limits, errorPages, *this)),
      tasks(taskErrors) {}

bool HttpsServer::shouldClose() { return closeNext; }

kj::Promise<void> HttpsServer::listen(kj::ConnectionReceiver& port) {
  return acceptLoop(port).exclusiveJoin(sweepLoop());
}

kj::Promise<void> HttpsServer::acceptLoop(kj::ConnectionReceiver& port) {
  return port.acceptAuthenticated().then([this, &port](kj::AuthenticatedStream connection) {
    sockaddr_storage peer{};
    uint length = sizeof(peer);
    connection.stream->getpeername(reinterpret_cast<sockaddr*>(&peer), &length);
    auto admission = slots.admit(reinterpret_cast<const sockaddr*>(&peer), timer.now());
    if (!admission.admitted) {
      // Dropping the stream closes it before any byte is read: the cheapest answer.
      connectionLog.warn(kj::str("connection from ", connection.peerIdentity->toString(),
                                 " refused: ", refusalName(admission.refusal)));
    } else {
      KJ_IF_MAYBE(victim, admission.evict) {
        connectionLog.warn(kj::str("all connection slots taken: closing the one waiting longest "
                                   "without a request, for ", connection.peerIdentity->toString()));
        cut(*victim);
      }
      tasks.add(serve(admission.id, kj::mv(connection)));
    }
    return acceptLoop(port);
  });
}

void HttpsServer::cut(uint64_t id) {
  KJ_IF_MAYBE(c, connections.find(id)) {
    if ((*c)->cut->isWaiting()) (*c)->cut->fulfill();
  }
}

kj::Promise<void> HttpsServer::sweepLoop() {
  return timer.afterDelay(limits.sweep).then([this]() {
    for (auto& late: slots.overdue(timer.now())) {
      KJ_IF_MAYBE(c, connections.find(late.id)) {
        if (!(*c)->cut->isWaiting()) continue;
        slots.countCut(late.why);
        connectionLog.warn(kj::str("connection from ", (*c)->peer, " closed: ", cutName(late.why),
                                   slots.underPressure() ? " (short deadlines: slots are busy)" : ""));
        (*c)->cut->fulfill();
      }
    }
    return sweepLoop();
  });
}

kj::Promise<void> HttpsServer::serve(uint64_t id, kj::AuthenticatedStream connection) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  auto record = kj::heap<Connection>(
      Connection{id, connection.peerIdentity->toString(), kj::mv(paf.fulfiller)});
  Connection& c = *record;
  connections.insert(id, &c);
  auto release = kj::defer([this, id]() {
    connections.erase(id);
    slots.release(id);
  });

  return tls.wrapServer(kj::mv(connection.stream))
      .then([this, &c](kj::Own<kj::AsyncIoStream> stream) {
        c.secured = true;
        slots.setPhase(c.id, Phase::WAITING, timer.now());
        return http.listenHttp(kj::heap<ClientStream>(kj::mv(stream), c));
      })
      .exclusiveJoin(kj::mv(paf.promise))
      .catch_([this, &c](kj::Exception&& e) {
        // Handshake failures (old TLS versions, port scans, kj's own timeout) and resets.
        if (!c.secured && e.getType() != kj::Exception::Type::DISCONNECTED) {
          slots.countCut(Cut::TLS_FAILED);
        }
        connectionLog.warn(kj::str("connection from ", c.peer, ": ", e.getDescription()));
      })
      .attach(kj::mv(release), kj::mv(record));
}

}  // namespace horloge::monitord
