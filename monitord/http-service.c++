#include "http-service.h"
#include "dashboard.h"
#include "ntp-time.h"
#include <openssl/crypto.h>
#include <kj/one-of.h>

namespace horloge::monitord {

namespace {

Reply plain(unsigned status, kj::StringPtr text, kj::StringPtr body) {
  return {status, text, "text/plain; charset=utf-8", kj::str(body, "\n")};
}

}  // namespace

MonitorService::MonitorService(kj::HttpHeaderTable::Builder& headers, kj::Timer& timer,
                               ReaderSource clockd, ipc::DaemonInfo::Reader self,
                               kj::Duration clockdTimeout)
    : table(headers.getFutureTable()), allow(headers.add("Allow")),
      cacheControl(headers.add("Cache-Control")),
      contentTypeOptions(headers.add("X-Content-Type-Options")),
      authorization(headers.add("Authorization")), wwwAuthenticate(headers.add("WWW-Authenticate")),
      csp(headers.add("Content-Security-Policy")), frameOptions(headers.add("X-Frame-Options")),
      timer(timer),
      clockd(kj::mv(clockd)), self(self), clockdTimeout(clockdTimeout) {}

kj::Promise<void> MonitorService::request(kj::HttpMethod method, kj::StringPtr url,
                                          const kj::HttpHeaders& headers,
                                          kj::AsyncInputStream& requestBody, Response& response) {
  size_t headerBytes = url.size(), headerCount = 0;
  headers.forEach([&](kj::StringPtr name, kj::StringPtr value) {
    headerBytes += name.size() + value.size() + 4;
    ++headerCount;
  });
  if (headerBytes > MAX_HEADER_BYTES || headerCount > MAX_HEADERS) {
    return send(response, plain(431, "Request Header Fields Too Large", "request header too large"),
                method != kj::HttpMethod::HEAD);
  }
  if (method != kj::HttpMethod::GET && method != kj::HttpMethod::HEAD) {
    return send(response, plain(405, "Method Not Allowed", "method not allowed"), true);
  }
  // A read-only service takes no input: refusing bodies keeps the server from buffering them.
  bool hasBody = true;
  KJ_IF_MAYBE(length, requestBody.tryGetLength()) hasBody = *length > 0;
  if (hasBody) {
    return send(response, plain(400, "Bad Request", "request body not accepted"), true);
  }

  bool withBody = method == kj::HttpMethod::GET;
  Endpoint endpoint = route(url);
  if (endpoint == Endpoint::NOT_FOUND) {
    return send(response, plain(404, "Not Found", "not found"), withBody);
  }
  // /health stays open: load balancers rarely send credentials, and it says one line.
  if (endpoint != Endpoint::HEALTH && !authorised(headers)) {
    return send(response, plain(401, "Unauthorized", "bearer token required"), withBody);
  }
  KJ_IF_MAYBE(reply, local(endpoint)) return send(response, kj::mv(*reply), withBody);
  return fetch(endpoint).then([this, &response, withBody](Reply reply) {
    return send(response, kj::mv(reply), withBody);
  });
}

bool MonitorService::authorised(const kj::HttpHeaders& headers) const {
  KJ_IF_MAYBE(expected, token) {
    KJ_IF_MAYBE(given, headers.get(authorization)) {
      constexpr kj::StringPtr BEARER = "Bearer "_kj;
      if (!given->startsWith(BEARER)) return false;
      auto presented = given->slice(BEARER.size());
      // Constant time in the token's content; its length is not a secret worth hiding.
      return presented.size() == expected->size() &&
             CRYPTO_memcmp(presented.begin(), expected->begin(), expected->size()) == 0;
    }
    return false;
  }
  return true;
}

kj::Maybe<Reply> MonitorService::local(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::DASHBOARD:
      return Reply{200, "OK", "text/html; charset=utf-8", kj::str(DASHBOARD_HTML)};
    case Endpoint::DASHBOARD_JS:
      return Reply{200, "OK", "text/javascript; charset=utf-8", kj::str(DASHBOARD_JS)};
    case Endpoint::HISTORY:
      KJ_IF_MAYBE(h, history) return Reply{200, "OK", "application/json", h->toJson()};
      return plain(404, "Not Found", "not found");
    default:
      return nullptr;
  }
}

kj::Promise<Reply> MonitorService::fetch(Endpoint endpoint) {
  auto unreachable = [this, endpoint](kj::StringPtr why) {
    switch (endpoint) {
      case Endpoint::STATUS: return unreachableStatusReply(json, self, why, realtimeNs());
      case Endpoint::METRICS: return unreachableMetricsReply(self, connections);
      default: return unreachableHealthReply(why);
    }
  };

  KJ_IF_MAYBE(reader, clockd()) {
    // Only the call and its deadline may turn into "unreachable"; a failure while rendering is
    // a bug and must surface as a 500.
    using Answer = capnp::Response<ipc::StatusReader::GetStatusResults>;
    using Outcome = kj::OneOf<Answer, kj::Exception>;
    auto deadline = timer.afterDelay(clockdTimeout).then([]() -> Outcome {
      return KJ_EXCEPTION(DISCONNECTED, "no answer within the deadline");
    });
    return reader->getStatusRequest().send()
        .then([](Answer&& answer) -> Outcome { return kj::mv(answer); })
        .exclusiveJoin(kj::mv(deadline))
        .catch_([](kj::Exception&& e) -> Outcome { return kj::mv(e); })
        .then([this, endpoint, unreachable](Outcome&& outcome) -> Reply {
          if (outcome.is<kj::Exception>()) {
            // The description comes from the RPC layer or clockd, never from the HTTP client.
            return unreachable(outcome.get<kj::Exception>().getDescription());
          }
          auto status = outcome.get<Answer>().getStatus();
          switch (endpoint) {
            case Endpoint::STATUS: return statusReply(json, status, self);
            case Endpoint::METRICS: return metricsReply(status, self, connections);
            default: return healthReply(status);
          }
        });
  }
  return unreachable("not connected");
}

kj::Promise<void> MonitorService::send(Response& response, Reply reply, bool withBody) {
  kj::HttpHeaders headers(table);
  headers.set(kj::HttpHeaderId::CONTENT_TYPE, reply.contentType);
  headers.set(cacheControl, "no-store");
  headers.set(contentTypeOptions, "nosniff");
  if (reply.status == 405) headers.set(allow, "GET, HEAD");
  if (reply.status == 401) headers.set(wwwAuthenticate, "Bearer");
  // The page is the only thing a browser renders: it gets the strict policy; nothing frames us.
  headers.set(csp, DASHBOARD_CSP);
  headers.set(frameOptions, "DENY");

  uint64_t size = reply.body.size();
  auto stream = response.send(reply.status, reply.statusText, headers, size);
  if (!withBody) return kj::READY_NOW;   // kj-http sends Content-Length for HEAD itself
  auto promise = stream->write(reply.body.begin(), reply.body.size());
  return promise.attach(kj::mv(stream), kj::mv(reply.body));
}

}  // namespace horloge::monitord
