#include "tls-setup.h"
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
  kj::StringPtr why = "no such file";
  KJ_IF_MAYBE(e, problem) why = e->getDescription();
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

kj::Own<kj::TlsContext> makeTlsContext(const kj::TlsKeypair& keypair, kj::Timer& timer,
                                       kj::Duration handshakeTimeout) {
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;   // no client certificates to verify
  options.verifyClients = false;
  options.minVersion = kj::TlsVersion::TLS_1_2;
  options.defaultKeypair = keypair;
  options.timer = timer;
  options.acceptTimeout = handshakeTimeout;
  return kj::heap<kj::TlsContext>(kj::mv(options));
}

}  // namespace horloge::monitord
