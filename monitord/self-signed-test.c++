#include "self-signed.h"
#include <doctest/doctest.h>
#include <kj/compat/tls.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <cstring>
#include <ctime>

namespace horloge::monitord {
namespace {

X509* parseCert(kj::StringPtr pem) {
  BIO* bio = BIO_new_mem_buf(pem.begin(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

EVP_PKEY* parseKey(kj::StringPtr pem) {
  BIO* bio = BIO_new_mem_buf(pem.begin(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

TEST_CASE("self-signed certificate: P-256, CN, SAN, one year, self-verifying") {
  PemKeypair pair = generateSelfSigned();
  CHECK(pair.certificate.startsWith("-----BEGIN CERTIFICATE-----"));
  CHECK(pair.privateKey.startsWith("-----BEGIN PRIVATE KEY-----"));

  X509* cert = parseCert(pair.certificate);
  EVP_PKEY* key = parseKey(pair.privateKey);
  REQUIRE(cert != nullptr);
  REQUIRE(key != nullptr);

  CHECK(X509_get_version(cert) == X509_VERSION_3);
  CHECK(EVP_PKEY_is_a(key, "EC"));
  char group[64] = {};
  size_t len = 0;
  REQUIRE(EVP_PKEY_get_group_name(key, group, sizeof(group), &len));
  CHECK(std::strcmp(group, "prime256v1") == 0);
  CHECK(X509_check_private_key(cert, key) == 1);
  CHECK(X509_verify(cert, key) == 1);   // self-signed with its own key

  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  CHECK(std::strcmp(cn, "horloge") == 0);
  CHECK(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0);

  CHECK(X509_check_host(cert, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(cert, "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(cert, "example.org", 0, 0, nullptr) == 0);

  // Valid now, expires in 365 days (give or take the seconds the test takes).
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)));
  CHECK(days == 365);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert)) <= 0);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(cert)) > 0);

  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST_CASE("self-signed certificates get distinct keys and serials") {
  PemKeypair a = generateSelfSigned(), b = generateSelfSigned();
  CHECK(a.privateKey != b.privateKey);
  X509* ca = parseCert(a.certificate);
  X509* cb = parseCert(b.certificate);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca), X509_get0_serialNumber(cb)) != 0);
  X509_free(ca);
  X509_free(cb);
}

TEST_CASE("kj-tls accepts the generated keypair") {
  PemKeypair pair = generateSelfSigned("monitord.test", 1);
  kj::TlsKeypair keypair{kj::TlsPrivateKey(pair.privateKey), kj::TlsCertificate(pair.certificate)};
  kj::TlsContext::Options options;
  options.defaultKeypair = keypair;
  kj::TlsContext context(options);   // throws if key and certificate do not match
}

}  // namespace
}  // namespace horloge::monitord
