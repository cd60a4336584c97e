#include "tls-setup.h"
#include "error-text.h"
#include "log.h"
#include "read-file.h"
#include "self-signed.h"
#include <kj/debug.h>

namespace horloge::monitord {

namespace {

// PEM files hold a key, a certificate chain or a CA bundle: a few KiB, a bundle some hundreds.
constexpr size_t MAX_PEM_BYTES = 1 << 20;
constexpr size_t MAX_TOKEN_BYTES = 4096;

// The file's text, bounded; an error names the directive and the whole path.
kj::String readBounded(const std::string& path, kj::StringPtr what, size_t limit) {
  kj::String why;
  KJ_IF_MAYBE(text, tryReadSmallFile(path.c_str(), limit, why)) return kj::mv(*text);
  if (why.size() == 0) why = kj::str(path.c_str(), ": no such file");
  kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
      kj::str("cannot read the monitor ", what, " ", why)));
}

}  // namespace

kj::TlsKeypair loadKeypair(const Config& config) {
  KJ_REQUIRE(config.monitorCert.empty() == config.monitorKey.empty(),
             "monitor: `cert` and `key` go together", config.path.c_str());
  if (!config.monitorCert.empty()) {
    auto cert = readBounded(config.monitorCert, "certificate", MAX_PEM_BYTES);
    auto key = readBounded(config.monitorKey, "key", MAX_PEM_BYTES);
    log::info(kj::str("TLS certificate from ", config.monitorCert.c_str()));
    return {kj::TlsPrivateKey(key), kj::TlsCertificate(cert)};
  }
  auto pem = generateSelfSigned();
  log::info("no `monitor cert` configured: using a self-signed certificate (CN=horloge)");
  return {kj::TlsPrivateKey(pem.privateKey), kj::TlsCertificate(pem.certificate)};
}

kj::Maybe<kj::TlsCertificate> loadClientCa(const Config& config) {
  if (config.monitorClientCa.empty()) return nullptr;
  auto pem = readBounded(config.monitorClientCa, "client CA", MAX_PEM_BYTES);
  log::info(kj::str("client certificates required, CA from ", config.monitorClientCa.c_str()));
  return kj::TlsCertificate(pem);
}

kj::Maybe<kj::String> loadToken(const Config& config) {
  if (config.monitorTokenFile.empty()) return nullptr;
  auto text = readBounded(config.monitorTokenFile, "token", MAX_TOKEN_BYTES);
  size_t end = 0;
  while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
  auto token = kj::heapString(text.slice(0, end));
  bool printable = true;
  for (char c: token) printable = printable && c > 0x20 && c < 0x7f;
  KJ_REQUIRE(token.size() >= 16 && printable,
             "the monitor token must be at least 16 printable characters, without spaces",
             config.monitorTokenFile.c_str());
  log::info(kj::str("bearer token required (from ", config.monitorTokenFile.c_str(), ")"));
  return kj::mv(token);
}

kj::Own<kj::TlsContext> makeTlsContext(const kj::TlsKeypair& keypair, kj::Timer& timer,
                                       kj::Duration handshakeTimeout,
                                       kj::Maybe<const kj::TlsCertificate&> clientCa) {
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;   // clients are trusted by `client-ca` only, never the system store
  options.verifyClients = false;
  KJ_IF_MAYBE(ca, clientCa) {
    options.verifyClients = true;
    options.trustedCertificates = kj::arrayPtr(ca, 1);
  }
  options.minVersion = kj::TlsVersion::TLS_1_2;
  options.defaultKeypair = keypair;
  options.timer = timer;
  options.acceptTimeout = handshakeTimeout;
  return kj::heap<kj::TlsContext>(kj::mv(options));
}

}  // namespace horloge::monitord
