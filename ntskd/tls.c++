#include "tls.h"
#include "ke-records.h"
#include "log.h"
#include <sys/stat.h>
#include <cstring>
#include <kj/debug.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace horloge::ntskd {

namespace {

kj::String sslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return kj::str(buf);
}

// The client must offer ntske/1: anything else ends the handshake with no_application_protocol.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  constexpr size_t n = sizeof(nts::ALPN) - 1;
  for (unsigned i = 0; i < inlen;) {
    unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == n && memcmp(in + i + 1, nts::ALPN, n) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

SSL_CTX* makeServerContext(kj::StringPtr certPath, kj::StringPtr keyPath) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  KJ_REQUIRE(ctx != nullptr, "cannot make a TLS context", sslError());
  KJ_DEFER(if (ctx != nullptr) SSL_CTX_free(ctx));
  KJ_REQUIRE(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1, sslError());
  KJ_REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, certPath.cStr()) == 1,
             kj::str("nts cert ", certPath, ": ", sslError()));
  KJ_REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, keyPath.cStr(), SSL_FILETYPE_PEM) == 1,
             kj::str("nts key ", keyPath, ": ", sslError()));
  KJ_REQUIRE(SSL_CTX_check_private_key(ctx) == 1,
             kj::str("nts key ", keyPath, " does not match the certificate ", certPath));
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
  // One exchange per connection: no tickets to resume a session with.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX* out = ctx;
  ctx = nullptr;
  return out;
}

void freeServerContext(SSL_CTX* ctx) { SSL_CTX_free(ctx); }

ServerCertificate::Stamp ServerCertificate::stampOf(kj::StringPtr path) {
  struct stat st;
  if (stat(path.cStr(), &st) < 0) return {};
  return {int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, int64_t(st.st_size)};
}

ServerCertificate::ServerCertificate(kj::String certPathArg, kj::String keyPathArg)
    : certPath(kj::mv(certPathArg)), keyPath(kj::mv(keyPathArg)),
      ctx(makeServerContext(certPath, keyPath)), certStamp(stampOf(certPath)),
      keyStamp(stampOf(keyPath)) {}

ServerCertificate::~ServerCertificate() { SSL_CTX_free(ctx); }

bool ServerCertificate::reloadIfChanged() {
  Stamp c = stampOf(certPath), k = stampOf(keyPath);
  if (c == certStamp && k == keyStamp) return false;
  certStamp = c;
  keyStamp = k;
  SSL_CTX* fresh = nullptr;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { fresh = makeServerContext(certPath, keyPath); })) {
    // Often a renewal caught half written (the certificate before its key): the next change
    // of either file retries.
    log::warn(kj::str("NTS certificate changed on disk but cannot be used, keeping the one "
                      "in use: ", e->getDescription()));
    return false;
  }
  SSL_CTX_free(ctx);
  ctx = fresh;
  log::info(kj::str("NTS certificate reloaded from ", certPath));
  return true;
}

}  // namespace horloge::ntskd
