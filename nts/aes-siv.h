// AEAD_AES_SIV_CMAC_256 (RFC 5297, the AEAD NTS uses: RFC 8915 algorithm 15), composed here from
// OpenSSL's AES: S2V over CMAC (RFC 4493, on AES-128-CBC) and AES-128-CTR. OpenSSL 3's own
// "AES-128-SIV" gives the same bytes (the tests check one against the other) but fetches its
// ciphers and builds a MAC context at every keying (about 5 µs each on the Pi's class of CPU,
// three or four times per NTS request), and refuses an empty plaintext, which NTS requests have.
// Here a keying is two AES key schedules and nothing is allocated.
//
// One object per thread: OpenSSL cipher contexts are not shared. The ciphers are fetched when
// the object is made, so make it before lockdown.
//
// Output layout, as RFC 5297 §2.6 and every NTS implementation: the 16-byte synthetic IV (the
// tag) followed by the ciphertext. The associated data come first in S2V, the nonce last.
#pragma once
#include <cstddef>
#include <cstdint>
#include <kj/common.h>

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace horloge::nts {

constexpr size_t SIV_KEY_SIZE = 32;    // AES-SIV-CMAC-256: a CMAC key and a CTR key, AES-128 each
constexpr size_t SIV_TAG_SIZE = 16;
constexpr size_t SIV_MAX_INPUT = 4096; // longest associated data or plaintext taken

class AesSiv {
public:
  AesSiv();
  ~AesSiv();
  KJ_DISALLOW_COPY(AesSiv);

  // Seals `plain` into `out` (SIV_TAG_SIZE + plain.size() bytes). `nonce` may be empty (then
  // deterministic: RFC 5297 A.1). False if an input is over SIV_MAX_INPUT or OpenSSL fails.
  bool seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out);

  // Opens `sealed` (tag + ciphertext) into `out` (sealed.size() - SIV_TAG_SIZE bytes). False
  // when it is too short or does not authenticate (wrong key, tampered): `out` is then garbage.
  bool open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out);

  // RFC 5297's S2V with CMAC over (ad, nonce, last): the tag. Public for the tests.
  bool s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
           kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag);

private:
  EVP_CIPHER* cbc;
  EVP_CIPHER* ctr;
  EVP_CIPHER_CTX* cbcCtx;   // CMAC's CBC-MAC, under the S2V key
  EVP_CIPHER_CTX* ctrCtx;
  uint8_t sub1[16], sub2[16];          // CMAC subkeys of the current S2V key
  uint8_t scratch[SIV_MAX_INPUT];      // CBC output, unused but for its last block
  uint8_t folded[SIV_MAX_INPUT];       // S2V's last input with D folded in

  bool cmacKey(const uint8_t* key);   // 16 bytes
  bool cmac(const uint8_t* data, size_t length, uint8_t* out);
  bool ctrCrypt(const uint8_t* key, const uint8_t* v, const uint8_t* in, size_t length, uint8_t* out);
};

}  // namespace horloge::nts
