// AEAD_AES_SIV_CMAC_256 (RFC 5297, the AEAD NTS uses: RFC 8915 algorithm 15), composed here from
// OpenSSL's AES block cipher: S2V over CMAC (RFC 4493) run through an AES-128-CBC context, and
// CTR through an AES-128-ECB one, each keyed with its half of the key. OpenSSL 3's own
// "AES-128-SIV" gives the same bytes (the tests check one against the other) but fetches its
// ciphers and builds a MAC context at every keying, and refuses an empty plaintext, which NTS
// requests have.
//
// Keying is what costs: every EVP_EncryptInit_ex2() on OpenSSL 3.0 looks up the key and IV
// lengths through the provider's parameter tables, about 0.3-0.5 µs each on this VM, against
// 10-50 ns for a call that encrypts a run of blocks on a keyed context. So a SivKey is keyed
// once and then seals and opens with no keying at all, and with one call per CMAC: the CBC
// context's IV is never reset, the chaining value it left (kept in `chain`) is XORed out of
// the next CMAC's first block instead. netd keeps one SivKey per server key (cookies) and
// rekeys one per request for its session keys.
//
// Output layout, as RFC 5297 §2.6 and every NTS implementation: the 16-byte synthetic IV (the
// tag) followed by the ciphertext. The associated data come first in S2V, the nonce last.
#pragma once
#include <cstddef>
#include <cstdint>
#include <kj/common.h>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace horloge::nts {

constexpr size_t SIV_KEY_SIZE = 32;    // AES-SIV-CMAC-256: a CMAC key and a CTR key, AES-128 each
constexpr size_t SIV_TAG_SIZE = 16;
constexpr size_t SIV_MAX_INPUT = 4096; // longest associated data or plaintext taken

// One AES-SIV key, its AES key schedules made once. Its contexts are allocated when it is made
// (before lockdown, for netd); set() only keys them. One thread at a time: OpenSSL cipher
// contexts are not shared.
class SivKey {
public:
  SivKey();
  ~SivKey();   // wipes the key
  KJ_DISALLOW_COPY(SivKey);

  // Keys it with SIV_KEY_SIZE bytes: the CMAC half now, the CTR half when first used (an NTS
  // request's authenticator encrypts nothing). False if OpenSSL fails: then unusable until a
  // set() succeeds.
  bool set(const uint8_t* key);

  // Seals `plain` into `out` (SIV_TAG_SIZE + plain.size() bytes). `nonce` may be empty (then
  // deterministic: RFC 5297 A.1). False if unkeyed, an input is over SIV_MAX_INPUT or OpenSSL
  // fails.
  bool seal(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
            kj::ArrayPtr<const uint8_t> plain, uint8_t* out);

  // Opens `sealed` (tag + ciphertext) into `out` (sealed.size() - SIV_TAG_SIZE bytes). False
  // when it is too short or does not authenticate (wrong key, tampered): `out` is then garbage.
  bool open(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
            kj::ArrayPtr<const uint8_t> sealed, uint8_t* out);

  // RFC 5297's S2V with CMAC over (ad, nonce, last): the tag. Public for the tests.
  bool s2v(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
           kj::ArrayPtr<const uint8_t> last, uint8_t* tag);

private:
  EVP_CIPHER_CTX* macCtx;     // AES-128-CBC under the S2V (CMAC) key, padding off
  EVP_CIPHER_CTX* ctrCtx;     // AES-128-ECB under the CTR key, once ctrKeyed
  bool keyed = false;
  bool ctrKeyed = false;
  uint8_t ctrKey[16];
  uint8_t sub1[16], sub2[16];  // CMAC subkeys (RFC 4493 K1, K2)
  uint8_t d0[16];              // S2V's first D: CMAC of the zero block, the same for every input
  uint8_t chain[16];           // macCtx's IV: the last block it output

  static bool encrypt(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out, size_t length);
  // CMAC of `data`; with `xorEnd` (16 bytes) XORed into its last 16 bytes first (S2V's xorend).
  bool cmac(const uint8_t* data, size_t length, const uint8_t* xorEnd, uint8_t* out);
  bool ctr(const uint8_t* v, const uint8_t* in, size_t length, uint8_t* out);
};

// AES-SIV for a key given as bytes at each call: a SivKey keyed every time, for callers that
// seal a handful of times (ntskd, the tools, the tests). Hot paths keep a SivKey per key.
class AesSiv {
public:
  // Seals and opens as SivKey does, under `key` (SIV_KEY_SIZE bytes).
  bool seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out);
  bool open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
            kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out);
  bool s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
           kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag);

  // Its one SivKey keyed with `key`, or nullptr if OpenSSL failed.
  SivKey* keyed(kj::ArrayPtr<const uint8_t> key);

private:
  SivKey scratch;
};

}  // namespace horloge::nts
