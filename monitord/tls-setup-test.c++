#include "tls-setup.h"
#include "self-signed.h"
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <kj/debug.h>

namespace horloge::monitord {
namespace {

kj::TlsKeypair testKeypair() {
  auto pem = generateSelfSigned();
  return {kj::TlsPrivateKey(pem.privateKey), kj::TlsCertificate(pem.certificate)};
}

TEST_CASE("a client that never starts the handshake is dropped after the timeout") {
  auto io = kj::setupAsyncIo();
  auto& timer = io.provider->getTimer();
  auto tls = makeTlsContext(testKeypair(), timer, 300 * kj::MILLISECONDS);
  auto pipe = kj::newTwoWayPipe();
  auto start = timer.now();
  auto result = tls->wrapServer(kj::mv(pipe.ends[0]))
      .then([](kj::Own<kj::AsyncIoStream>) { return false; },
            [](kj::Exception&&) { return true; })
      .wait(io.waitScope);
  auto elapsed = timer.now() - start;
  CHECK(result);
  CHECK(elapsed >= 250 * kj::MILLISECONDS);
  CHECK(elapsed < 2 * kj::SECONDS);
}

TEST_CASE("loadKeypair: cert and key go together") {
  Config config;
  config.monitorCert = "/nonexistent.pem";
  CHECK_THROWS(loadKeypair(config));
}

TEST_CASE("loadKeypair and loadToken: a device or a missing file is an error naming it") {
  Config config;
  config.monitorCert = "/dev/zero";
  config.monitorKey = "/dev/zero";
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { loadKeypair(config); })) {
    CHECK(e->getDescription() == "cannot read the monitor certificate /dev/zero: not a regular file");
  } else {
    FAIL("/dev/zero read as a certificate");
  }
  config.monitorTokenFile = "/nonexistent-token";
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { loadToken(config); })) {
    CHECK(e->getDescription() == "cannot read the monitor token /nonexistent-token: no such file");
  } else {
    FAIL("a missing token file accepted");
  }
}

}  // namespace
}  // namespace horloge::monitord
