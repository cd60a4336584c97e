#include "tls.h"
#include <doctest/doctest.h>
#include <kj/exception.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace horloge::ntskd;

namespace {

std::string tempPath(const char* name) {
  return "/tmp/horloge-tls-test-" + std::to_string(getpid()) + "-" + name;
}

// A fresh P-256 key and a self-signed certificate for it, as PEM.
struct Pair {
  std::string cert, key;
};
Pair makePair(const char* name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, size_t(n));
    BIO_free(bio);
    return out;
  };
  Pair p{pem([&](BIO* b) { PEM_write_bio_X509(b, x); }),
         pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); })};
  X509_free(x);
  EVP_PKEY_free(key);
  return p;
}

void write(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
}

// What makeServerContext threw, or "" when it loaded (the context is then freed).
std::string failure(const std::string& cert, const std::string& key) {
  SSL_CTX* ctx = nullptr;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    ctx = makeServerContext(cert.c_str(), key.c_str());
  })) {
    return e->getDescription().cStr();
  }
  freeServerContext(ctx);
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return true;
  MESSAGE(text);
  return false;
}

}  // namespace

TEST_CASE("makeServerContext: a certificate, its chain and its key, read whole and loaded from memory") {
  Pair leaf = makePair("horloge.test"), ca = makePair("ca.test");
  auto cert = tempPath("chain.pem"), key = tempPath("key.pem");
  write(cert, leaf.cert + ca.cert);
  write(key, leaf.key);
  SSL_CTX* ctx = makeServerContext(cert.c_str(), key.c_str());
  STACK_OF(X509)* chain = nullptr;
  REQUIRE(SSL_CTX_get0_chain_certs(ctx, &chain) == 1);
  CHECK(sk_X509_num(chain) == 1);
  CHECK(SSL_CTX_check_private_key(ctx) == 1);
  freeServerContext(ctx);

  // The key of another certificate, a file with no certificate, a damaged chain.
  write(key, ca.key);
  CHECK(contains(failure(cert, key), "nts key " + key + " does not match the certificate"));
  write(key, leaf.key);
  auto junk = tempPath("junk.pem");
  write(junk, "not a certificate\n");
  CHECK(contains(failure(junk, key), "nts cert " + junk + ": no PEM certificate"));
  write(junk, leaf.cert + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  CHECK(contains(failure(junk, key), "nts cert " + junk + ": a damaged certificate in the chain"));
  CHECK(contains(failure(cert, junk), "nts key " + junk + ": no usable PEM private key"));
  {   // A key under a passphrase: refused, never a prompt on a terminal.
    BIO* in = BIO_new_mem_buf(leaf.key.data(), int(leaf.key.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    REQUIRE(k != nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    char pass[] = "secret";
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(out, k, EVP_aes_256_cbc(), pass, 6, nullptr,
                                          nullptr) == 1);
    char* data;
    long n = BIO_get_mem_data(out, &data);
    write(junk, std::string(data, size_t(n)));
    BIO_free(out);
    EVP_PKEY_free(k);
    CHECK(contains(failure(cert, junk), "one under a passphrase"));
  }
  unlink(junk.c_str());
  CHECK(contains(failure(cert, junk), "nts key " + junk + ": no such file"));
  unlink(cert.c_str());
  unlink(key.c_str());
}

TEST_CASE("makeServerContext: a FIFO, a device or a huge file is refused by name, at once") {
  Pair leaf = makePair("horloge.test");
  auto cert = tempPath("cert.pem"), key = tempPath("key.pem"), fifo = tempPath("fifo");
  write(cert, leaf.cert);
  write(key, leaf.key);
  // A FIFO with no writer: OpenSSL's own reader would wait in open() for ever.
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(contains(failure(fifo, key), "nts cert " + fifo + ": not a regular file"));
  CHECK(contains(failure(cert, fifo), "nts key " + fifo + ": not a regular file"));
  unlink(fifo.c_str());
  CHECK(contains(failure("/dev/zero", key), "nts cert /dev/zero: not a regular file"));
  // A sparse 1 GiB file: refused from its size, never read.
  auto huge = tempPath("huge.pem");
  FILE* f = fopen(huge.c_str(), "w");
  REQUIRE(f != nullptr);
  REQUIRE(ftruncate(fileno(f), off_t(1) << 30) == 0);
  fclose(f);
  CHECK(contains(failure(huge, key), "nts cert " + huge + ": larger than 256 KiB"));
  CHECK(contains(failure(cert, huge), "nts key " + huge + ": larger than 256 KiB"));
  unlink(huge.c_str());
  CHECK(failure(cert, key) == "");
  unlink(cert.c_str());
  unlink(key.c_str());
}
