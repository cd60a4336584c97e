// MonitorService and ErrorPages over an in-memory pipe: the HTTP behaviour without TLS.
#include "http-service.h"
#include "https-server.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <string_view>

namespace horloge::monitord {
namespace {

class FakeClockd final: public ipc::StatusReader::Server {
public:
  enum Mode { ANSWER, HANG, THROW } mode = ANSWER;
  ipc::SyncState state = ipc::SyncState::LOCKED;

  kj::Promise<void> getStatus(GetStatusContext context) override {
    if (mode == HANG) return kj::NEVER_DONE;
    KJ_REQUIRE(mode != THROW, "clockd is unhappy");
    auto status = context.getResults().initStatus();
    status.getClockd().setPid(100);
    auto clock = status.initClock();
    clock.setState(state);
    clock.setReason(state == ipc::SyncState::LOCKED ? "PPS" : "no source");
    clock.setRefid("PPS");
    clock.getServer().setStratum(1);
    auto netd = status.initNetd();   // serving it
    netd.setConnected(true);
    netd.getBody().setServedLeap(0);
    netd.getBody().setServedStratum(1);
    return kj::READY_NOW;
  }
};

struct Answer {
  unsigned status;
  kj::String body;
  kj::Maybe<kj::String> allow, contentType, contentLength;
};

struct Fixture {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  FakeClockd* fake;
  kj::Maybe<ipc::StatusReader::Client> reader;
  capnp::MallocMessageBuilder selfMessage;
  kj::HttpHeaderTable::Builder builder;
  kj::HttpHeaderId allowId = builder.add("Allow");
  MonitorService service;
  kj::Own<kj::HttpHeaderTable> table;
  ErrorPages errorPages;
  kj::HttpServer server;

  Fixture()
      : service(builder, io.provider->getTimer(), [this]() { return reader; }, self(),
                50 * kj::MILLISECONDS),
        table(builder.build()),
        server(io.provider->getTimer(), *table, service, settings()) {
    auto own = kj::heap<FakeClockd>();
    fake = own.get();
    reader = ipc::StatusReader::Client(kj::mv(own));
  }

  ipc::DaemonInfo::Reader self() {
    auto info = selfMessage.initRoot<ipc::DaemonInfo>();
    info.setRole(ipc::Role::MONITORD);
    info.setPid(4242);
    return info.asReader();
  }

  kj::HttpServerSettings settings() {
    kj::HttpServerSettings s;
    s.errorHandler = errorPages;
    return s;
  }

  Answer ask(kj::HttpMethod method, kj::StringPtr url, kj::StringPtr body = nullptr,
             kj::StringPtr headerName = nullptr, kj::StringPtr headerValue = nullptr) {
    auto pipe = kj::newTwoWayPipe();
    auto serving = server.listenHttp(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
    auto client = kj::newHttpClient(*table, *pipe.ends[1]);
    kj::HttpHeaders headers(*table);
    if (headerName != nullptr) headers.add(headerName, headerValue);
    auto request = client->request(method, url, headers,
                                   body == nullptr ? kj::Maybe<uint64_t>(nullptr) : body.size());
    // Not waited on: the server answers without reading a body it refuses.
    kj::Promise<void> writing = kj::READY_NOW;
    if (body != nullptr) writing = request.body->write(body.begin(), body.size());
    auto response = request.response.wait(io.waitScope);
    Answer answer{response.statusCode, response.body->readAllText().wait(io.waitScope)};
    KJ_IF_MAYBE(v, response.headers->get(allowId)) answer.allow = kj::str(*v);
    KJ_IF_MAYBE(v, response.headers->get(kj::HttpHeaderId::CONTENT_TYPE)) answer.contentType = kj::str(*v);
    KJ_IF_MAYBE(v, response.headers->get(kj::HttpHeaderId::CONTENT_LENGTH)) answer.contentLength = kj::str(*v);
    return answer;
  }
};

bool has(kj::StringPtr text, kj::StringPtr part) {
  return std::string_view(text.cStr()).find(part.cStr()) != std::string_view::npos;
}

kj::StringPtr orEmpty(kj::Maybe<kj::String>& s) {
  KJ_IF_MAYBE(v, s) return *v;
  return "";
}

TEST_CASE("GET /status: clockd's status with monitord's info, as JSON") {
  Fixture f;
  auto a = f.ask(kj::HttpMethod::GET, "/status");
  CHECK(a.status == 200);
  CHECK(orEmpty(a.contentType) == "application/json");
  CHECK(has(a.body, "\"pid\":4242"));
  CHECK(has(a.body, "\"pid\":100"));
  CHECK(has(a.body, "\"state\":\"locked\""));
}

TEST_CASE("HEAD /status: headers only") {
  Fixture f;
  auto a = f.ask(kj::HttpMethod::HEAD, "/status");
  CHECK(a.status == 200);
  CHECK(a.body == "");
  CHECK(orEmpty(a.contentLength) != "");
  CHECK(orEmpty(a.contentLength) != "0");
}

TEST_CASE("other methods: 405 with Allow") {
  Fixture f;
  for (auto method: {kj::HttpMethod::POST, kj::HttpMethod::PUT, kj::HttpMethod::DELETE,
                     kj::HttpMethod::OPTIONS}) {
    auto a = f.ask(method, "/status");
    CHECK(a.status == 405);
    CHECK(orEmpty(a.allow) == "GET, HEAD");
  }
}

TEST_CASE("a GET with a body is refused") {
  Fixture f;
  CHECK(f.ask(kj::HttpMethod::GET, "/status", "hello").status == 400);
}

TEST_CASE("unknown path: 404") {
  Fixture f;
  auto a = f.ask(kj::HttpMethod::GET, "/metrics/../../etc/passwd");
  CHECK(a.status == 404);
  CHECK(a.body == "not found\n");
}

TEST_CASE("/health: 200 when locked, 503 otherwise") {
  Fixture f;
  auto ok = f.ask(kj::HttpMethod::GET, "/health");
  CHECK(ok.status == 200);
  CHECK(ok.body.startsWith("ok: synchronised"));
  f.fake->state = ipc::SyncState::UNSYNCHRONISED;
  auto bad = f.ask(kj::HttpMethod::GET, "/health");
  CHECK(bad.status == 503);
  CHECK(bad.body == "unsynchronised: no source\n");
}

TEST_CASE("clockd away, silent or failing: 503 that says so") {
  Fixture f;
  f.fake->mode = FakeClockd::HANG;
  auto hung = f.ask(kj::HttpMethod::GET, "/health");
  CHECK(hung.status == 503);
  CHECK(hung.body.startsWith("clockd unreachable: "));

  f.fake->mode = FakeClockd::THROW;
  auto failing = f.ask(kj::HttpMethod::GET, "/status");
  CHECK(failing.status == 503);
  CHECK(has(failing.body, "clockd unreachable"));
  CHECK(has(failing.body, "\"pid\":4242"));

  f.reader = nullptr;
  auto away = f.ask(kj::HttpMethod::GET, "/status");
  CHECK(away.status == 503);
  CHECK(has(away.body, "clockd unreachable: not connected"));
  CHECK(has(away.body, "\"pid\":4242"));
  CHECK(f.ask(kj::HttpMethod::GET, "/health").body == "clockd unreachable: not connected\n");
}

class Throwing final: public kj::HttpService {
public:
  kj::Promise<void> request(kj::HttpMethod, kj::StringPtr, const kj::HttpHeaders&,
                            kj::AsyncInputStream&, Response&) override {
    KJ_FAIL_ASSERT("secret internal detail");
  }
};

TEST_CASE("a handler exception becomes a bare 500") {
  auto io = kj::setupAsyncIo();
  kj::HttpHeaderTable table;
  Throwing service;
  ErrorPages errorPages;
  kj::HttpServerSettings settings;
  settings.errorHandler = errorPages;
  kj::HttpServer server(io.provider->getTimer(), table, service, settings);
  auto pipe = kj::newTwoWayPipe();
  auto serving = server.listenHttp(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
  auto client = kj::newHttpClient(table, *pipe.ends[1]);
  kj::HttpHeaders headers(table);
  auto response = client->request(kj::HttpMethod::GET, "/", headers).response.wait(io.waitScope);
  CHECK(response.statusCode == 500);
  auto body = response.body->readAllText().wait(io.waitScope);
  CHECK(body == "internal error\n");
}

TEST_CASE("issue 6: /metrics, dashboard, history") {
  Fixture f;
  auto m = f.ask(kj::HttpMethod::GET, "/metrics");
  CHECK(m.status == 200);
  CHECK(orEmpty(m.contentType) == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(has(m.body, "ntp_system_synchronised 1\n"));
  auto d = f.ask(kj::HttpMethod::GET, "/");
  CHECK(d.status == 200);
  CHECK(has(d.body, "<table id=\"sources\">"));
  CHECK(!has(d.body, "http://"));   // no external resource (the SVG namespace is in the script)
  CHECK(f.ask(kj::HttpMethod::GET, "/dashboard.js").status == 200);
  CHECK(f.ask(kj::HttpMethod::GET, "/history.json").status == 404);   // no History given
  History history(30);
  f.service.setHistory(history);
  auto h = f.ask(kj::HttpMethod::GET, "/history.json");
  CHECK(h.status == 200);
  CHECK(h.body == "{\"intervalSeconds\":30,\"clockdRestarts\":0,\"samples\":[]}\n");
}

TEST_CASE("issue 6: header size and count are capped") {
  Fixture f;
  auto big = kj::heapString(MAX_HEADER_BYTES);
  for (char& c: big) c = 'a';
  CHECK(f.ask(kj::HttpMethod::GET, "/health", nullptr, "X-Big", big).status == 431);
  CHECK(f.ask(kj::HttpMethod::GET, "/health", nullptr, "X-Small", "a").status == 200);
}

TEST_CASE("issue 6: bearer token on every path but /health") {
  Fixture f;
  f.service.requireToken(kj::str("0123456789abcdef"));
  CHECK(f.ask(kj::HttpMethod::GET, "/status").status == 401);
  CHECK(f.ask(kj::HttpMethod::GET, "/metrics", nullptr, "Authorization", "Bearer wrong").status == 401);
  CHECK(f.ask(kj::HttpMethod::GET, "/metrics", nullptr, "Authorization",
              "Bearer 0123456789abcdeX").status == 401);
  CHECK(f.ask(kj::HttpMethod::GET, "/metrics", nullptr, "Authorization",
              "Bearer 0123456789abcdef").status == 200);
  CHECK(f.ask(kj::HttpMethod::GET, "/", nullptr, "Authorization", "0123456789abcdef").status == 401);
  CHECK(f.ask(kj::HttpMethod::GET, "/health").status == 200);
}

}  // namespace
}  // namespace horloge::monitord
