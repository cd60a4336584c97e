// AEAD_AES_SIV_CMAC_256 (RFC 5297, the AEAD NTS uses: RFC 8915 algorithm 15) over OpenSSL 3's
// "AES-128-SIV". One object per thread: an OpenSSL cipher context is not shared. The cipher is
// fetched when the object is made, so make it before lockdown (the provider is loaded then).
//
// Output layout, as RFC 5297 §2.6 and every NTS implementation: the 16-byte synthetic IV (the
// tag) followed by the ciphertext. The associated data come first in S2V, the nonce last.
#pragma once
#include <cstddef>
#include <cstdint>
#include <kj/common.h>

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_mac_st EVP_MAC;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace horloge::nts {

constexpr size_t SIV_KEY_SIZE = 32;    // AES-SIV-CMAC-256: two AES-128 keys
constexpr size_t SIV_TAG_SIZE = 16;

class AesSiv {
public:
  AesSiv();
  ~AesSiv();
  KJ_DISALLOW_COPY(AesSiv);

  // Seals `plain` into `out` (SIV_TAG_SIZE + plain.size() bytes). `nonce` may be empty (then
  // deterministic: RFC 5297 A.1). Returns false only if OpenSSL fails.
  bool seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out);

  // Opens `sealed` (tag + ciphertext) into `out` (sealed.size() - SIV_TAG_SIZE bytes). False
  // when it is too short or does not authenticate (wrong key, tampered): `out` is then garbage.
  bool open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out);

  // RFC 5297's S2V with CMAC over (ad, nonce, last): the tag. Public for the tests, which check
  // it against OpenSSL's on the RFC's example; seal() and open() use it for an empty plaintext
  // only, which OpenSSL's EVP interface refuses to process (and NTS requests have).
  bool s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
           kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag);

private:
  EVP_CIPHER* cipher;
  EVP_CIPHER_CTX* ctx;
  EVP_MAC* mac;
  EVP_MAC_CTX* macCtx;
  bool cmac(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> data, uint8_t* out);
};

}  // namespace horloge::nts
