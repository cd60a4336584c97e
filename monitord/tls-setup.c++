#include "tls-setup.h"
#include "error-text.h"
#include "log.h"
#include "self-signed.h"
#include <kj/debug.h>
#include <kj/filesystem.h>

namespace horloge::monitord {

namespace {

// kj's own messages name neither the directive nor the whole path; the operator needs both.
kj::String readPem(const kj::Filesystem& fs, const std::string& path, kj::StringPtr what) {
  kj::Maybe<kj::String> text;
  auto problem = kj::runCatchingExceptions([&]() {
    KJ_IF_MAYBE(file, fs.getRoot().tryOpenFile(fs.getCurrentPath().evalNative(path.c_str()))) {
      text = (*file)->readAllText();
    }
  });
  KJ_IF_MAYBE(t, text) return kj::mv(*t);
  kj::String why = kj::str("no such file");
  KJ_IF_MAYBE(e, problem) why = errorText(*e);
  kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
      kj::str("cannot read the monitor ", what, " ", path.c_str(), ": ", why)));
}

}  // namespace

kj::TlsKeypair loadKeypair(const Config& config) {
  KJ_REQUIRE(config.monitorCert.empty() == config.monitorKey.empty(),
             "monitor: `cert` and `key` go together", config.path.c_str());
  if (!config.monitorCert.empty()) {
    auto fs = kj::newDiskFilesystem();
    auto cert = readPem(*fs, config.monitorCert, "certificate");
    auto key = readPem(*fs, config.monitorKey, "key");
    log::info(kj::str("TLS certificate from ", config.monitorCert.c_str()));
    return {kj::TlsPrivateKey(key), kj::TlsCertificate(cert)};
  }
  auto pem = generateSelfSigned();
  log::info("no `monitor cert` configured: using a self-signed certificate (CN=horloge)");
  return {kj::TlsPrivateKey(pem.privateKey), kj::TlsCertificate(pem.certificate)};
}

kj::Maybe<kj::TlsCertificate> loadClientCa(const Config& config) {
  if (config.monitorClientCa.empty()) return nullptr;
  auto fs = kj::newDiskFilesystem();
  auto pem = readPem(*fs, config.monitorClientCa, "client CA");
  log::info(kj::str("client certificates required, CA from ", config.monitorClientCa.c_str()));
  return kj::TlsCertificate(pem);
}

kj::Maybe<kj::String> loadToken(const Config& config) {
  if (config.monitorTokenFile.empty()) return nullptr;
  auto fs = kj::newDiskFilesystem();
  auto text = readPem(*fs, config.monitorTokenFile, "token");
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
