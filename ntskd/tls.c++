#include "tls.h"
#include "ke-records.h"
#include "log.h"
#include "read-file.h"
#include <sys/stat.h>
#include <cstring>
#include <kj/debug.h>
#include <openssl/err.h>
#include <openssl/pem.h>
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

int noPassphrase(char*, int, int, void*) { return -1; }

// The file whole, through the bounded reader; `what` (the directive) and the path in errors.
kj::String readPem(kj::StringPtr what, kj::StringPtr path) {
  kj::String why;
  KJ_IF_MAYBE(text, tryReadSmallFile(path, MAX_PEM_BYTES, why)) return kj::mv(*text);
  KJ_REQUIRE(why.size() > 0, kj::str(what, " ", path, ": no such file"));
  KJ_FAIL_REQUIRE(kj::str(what, " ", why));
}

// The first PEM certificate is the server's, the others its chain (as
// SSL_CTX_use_certificate_chain_file, which reads the file itself, unbounded).
void useCertificateChain(SSL_CTX* ctx, kj::StringPtr pem, kj::StringPtr path) {
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(pem.begin(), static_cast<int>(pem.size()));
  KJ_REQUIRE(bio != nullptr, "out of memory");
  KJ_DEFER(BIO_free(bio));
  X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr);
  KJ_REQUIRE(leaf != nullptr, kj::str("nts cert ", path, ": no PEM certificate (", sslError(),
                                      ")"));
  KJ_DEFER(X509_free(leaf));
  KJ_REQUIRE(SSL_CTX_use_certificate(ctx, leaf) == 1, kj::str("nts cert ", path, ": ",
                                                              sslError()));
  KJ_REQUIRE(SSL_CTX_clear_chain_certs(ctx) == 1, sslError());
  for (;;) {
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (ca == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      KJ_FAIL_REQUIRE(kj::str("nts cert ", path, ": ", sslError()));
    }
  }
  // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a damaged certificate.
  unsigned long e = ERR_peek_last_error();
  bool end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  KJ_REQUIRE(e == 0 || end, kj::str("nts cert ", path, ": a damaged certificate in the chain (",
                                    sslError(), ")"));
  ERR_clear_error();
}

}  // namespace

SSL_CTX* makeServerContext(kj::StringPtr certPath, kj::StringPtr keyPath) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  KJ_REQUIRE(ctx != nullptr, "cannot make a TLS context", sslError());
  KJ_DEFER(if (ctx != nullptr) SSL_CTX_free(ctx));
  KJ_REQUIRE(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1, sslError());
  kj::String certPem = readPem("nts cert", certPath);
  kj::String keyPem = readPem("nts key", keyPath);
  KJ_DEFER(OPENSSL_cleanse(keyPem.begin(), keyPem.size()));
  useCertificateChain(ctx, certPem, certPath);
  {
    BIO* bio = BIO_new_mem_buf(keyPem.begin(), static_cast<int>(keyPem.size()));
    KJ_REQUIRE(bio != nullptr, "out of memory");
    KJ_DEFER(BIO_free(bio));
    // No passphrase callback: OpenSSL's default would ask on the terminal, and wait.
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, noPassphrase, nullptr);
    KJ_REQUIRE(key != nullptr, kj::str("nts key ", keyPath, ": no usable PEM private key, or "
                                       "one under a passphrase (", sslError(), ")"));
    KJ_DEFER(EVP_PKEY_free(key));
    KJ_REQUIRE(X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) == 1,
               kj::str("nts key ", keyPath, " does not match the certificate ", certPath));
    KJ_REQUIRE(SSL_CTX_use_PrivateKey(ctx, key) == 1, kj::str("nts key ", keyPath, ": ",
                                                                sslError()));
  }
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
