// HttpsServer over real TLS on loopback: connection handling that kj-http alone does not do.
#include "https-server.h"
#include "self-signed.h"
#include "tls-setup.h"
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <string_view>

namespace horloge::monitord {
namespace {

class Hello final: public kj::HttpService {
public:
  explicit Hello(const kj::HttpHeaderTable& table): table(table) {}
  kj::Promise<void> request(kj::HttpMethod, kj::StringPtr, const kj::HttpHeaders&,
                            kj::AsyncInputStream&, Response& response) override {
    kj::HttpHeaders headers(table);
    auto stream = response.send(200, "OK", headers, 3);
    auto promise = stream->write("hi\n", 3);
    return promise.attach(kj::mv(stream));
  }
  const kj::HttpHeaderTable& table;
};

struct Fixture {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::Timer& timer = io.provider->getTimer();
  PemKeypair pem = generateSelfSigned();
  kj::Own<kj::TlsContext> serverTls = makeTlsContext(
      {kj::TlsPrivateKey(pem.privateKey), kj::TlsCertificate(pem.certificate)}, timer,
      6 * kj::SECONDS);   // as main() does: kj's deadline a backstop behind HttpsServer's
  kj::TlsCertificate cert{pem.certificate};
  kj::Own<kj::TlsContext> clientTls;
  kj::HttpHeaderTable table;
  Hello service{table};
  HttpsServer server{timer, *serverTls, table, service};
  kj::Own<kj::ConnectionReceiver> port;
  kj::Promise<void> serving = nullptr;

  Fixture() {
    kj::TlsContext::Options options;
    options.useSystemTrustStore = false;
    options.trustedCertificates = kj::arrayPtr(&cert, 1);
    clientTls = kj::heap<kj::TlsContext>(kj::mv(options));
    port = io.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen();
    serving = server.listen(*port).eagerlyEvaluate(nullptr);
  }

  kj::Own<kj::AsyncIoStream> connect() {
    auto tcp = io.provider->getNetwork().parseAddress("127.0.0.1", port->getPort())
                   .wait(io.waitScope)->connect().wait(io.waitScope);
    return clientTls->wrapClient(kj::mv(tcp), "localhost").wait(io.waitScope);
  }

  // What arrives within `limit`, and whether the server closed the connection by then.
  std::pair<std::string, bool> read(kj::AsyncIoStream& stream, kj::Duration limit) {
    std::string got;
    char buffer[4096];
    kj::Function<kj::Promise<bool>()> more = [&]() -> kj::Promise<bool> {
      return stream.tryRead(buffer, 1, sizeof(buffer)).then([&](size_t n) -> kj::Promise<bool> {
        if (n == 0) return true;
        got.append(buffer, n);
        return more();
      });
    };
    bool closed = more().catch_([](kj::Exception&&) { return true; })
        .exclusiveJoin(timer.afterDelay(limit).then([]() { return false; })).wait(io.waitScope);
    return {got, closed};
  }
};

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("HttpsServer: `Connection: close` is answered, then the connection closed") {
  Fixture f;
  auto tls = f.connect();
  kj::StringPtr request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n";
  tls->write(request.begin(), request.size()).wait(f.io.waitScope);
  auto [text, closed] = f.read(*tls, 2 * kj::SECONDS);
  CHECK(has(text, "HTTP/1.1 200 OK"));
  CHECK(has(text, "Connection: close"));
  CHECK(has(text, "hi\n"));
  CHECK(closed);
  CHECK(f.server.stats().open == 0);

  // Without it the connection stays for the next request (until the idle deadline).
  auto again = f.connect();
  kj::StringPtr plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  again->write(plain.begin(), plain.size()).wait(f.io.waitScope);
  auto [text2, closed2] = f.read(*again, 1 * kj::SECONDS);
  CHECK(has(text2, "HTTP/1.1 200 OK"));
  CHECK_FALSE(has(text2, "Connection: close"));
  CHECK_FALSE(closed2);
  CHECK(f.server.stats().open == 1);
}

TEST_CASE("HttpsServer: two Content-Length values are a 400, not a 500") {
  Fixture f;
  auto tls = f.connect();
  kj::StringPtr request =
      "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello";
  tls->write(request.begin(), request.size()).wait(f.io.waitScope);
  auto [text, closed] = f.read(*tls, 2 * kj::SECONDS);
  CHECK(has(text, "HTTP/1.1 400 Bad Request"));
  CHECK(closed);
}

TEST_CASE("HttpsServer: one source cannot take every slot; silent ones are cut at the deadline") {
  Fixture f;
  // Four silent TCP connections from 127.0.0.1 (its whole share): a fifth is refused at once,
  // before any TLS byte.
  kj::Vector<kj::Own<kj::AsyncIoStream>> idle;
  auto address = f.io.provider->getNetwork().parseAddress("127.0.0.1", f.port->getPort())
                     .wait(f.io.waitScope);
  for (int i = 0; i < 4; ++i) idle.add(address->connect().wait(f.io.waitScope));
  f.timer.afterDelay(100 * kj::MILLISECONDS).wait(f.io.waitScope);
  auto fifth = address->connect().wait(f.io.waitScope);
  CHECK(f.read(*fifth, 1 * kj::SECONDS).second);
  CHECK(f.server.stats().refused[size_t(Refusal::SOURCE_SHARE)] == 1);
  // The four are cut when their handshake deadline passes (5 s, no pressure here).
  for (auto& s: idle) CHECK(f.read(*s, 7 * kj::SECONDS).second);
  CHECK(f.server.stats().cut[size_t(Cut::HANDSHAKE_DEADLINE)] == 4);
  CHECK(f.server.stats().open == 0);
}

}  // namespace
}  // namespace horloge::monitord
