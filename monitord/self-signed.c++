#include "self-signed.h"
#include <kj/debug.h>
#include <memory>
#include <kj/vector.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace horloge::monitord {

namespace {

[[noreturn]] void fail(kj::StringPtr what) {
  kj::Vector<char> queue;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    queue.addAll(kj::StringPtr(buf));
    queue.add(';');
  }
  queue.add('\0');
  KJ_FAIL_ASSERT("OpenSSL failed", what, queue.begin());
}

template <typename T, void (*FREE)(T*)>
struct Freer {
  void operator()(T* p) const { FREE(p); }
};
template <typename T, void (*FREE)(T*)>
using Ptr = std::unique_ptr<T, Freer<T, FREE>>;

kj::String drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return kj::heapString(data, static_cast<size_t>(n));
}

void addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION, X509_EXTENSION_free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) fail(value);
}

}  // namespace

PemKeypair generateSelfSigned(kj::StringPtr commonName, unsigned days) {
  Ptr<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen");

  Ptr<X509, X509_free> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) fail("X509_new");

  // RFC 5280 wants a positive serial of at most 20 octets; 127 random bits is plenty and stays
  // positive, so two boots never issue the same serial under the same name.
  Ptr<BIGNUM, BN_free> serial(BN_new());
  if (!serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    fail("serial");
  }

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400)) {
    fail("validity");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(commonName.cStr()), -1, -1, 0) ||
      !X509_set_issuer_name(cert.get(), name) ||
      !X509_set_pubkey(cert.get(), key.get())) {
    fail("name");
  }

  addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert.get(), NID_key_usage, "critical,digitalSignature");
  addExtension(cert.get(), NID_ext_key_usage, "serverAuth");
  addExtension(cert.get(), NID_subject_key_identifier, "hash");
  addExtension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");

  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) fail("X509_sign");

  Ptr<BIO, BIO_free_all> certBio(BIO_new(BIO_s_mem()));
  Ptr<BIO, BIO_free_all> keyBio(BIO_new(BIO_s_mem()));
  if (!certBio || !keyBio || !PEM_write_bio_X509(certBio.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    fail("PEM");
  }
  return {drain(certBio.get()), drain(keyBio.get())};
}

}  // namespace horloge::monitord
