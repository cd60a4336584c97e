#include "aes-siv.h"
#include <cstring>
#include <kj/debug.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace horloge::nts {

namespace {

void dbl(uint8_t* d) {   // multiplication by x in GF(2^128), RFC 5297 §2.3 and RFC 4493
  uint8_t carry = d[0] >> 7;
  for (int i = 0; i < 15; ++i) d[i] = static_cast<uint8_t>(d[i] << 1 | d[i + 1] >> 7);
  d[15] = static_cast<uint8_t>(d[15] << 1) ^ (carry ? 0x87 : 0);
}

void xor16(uint8_t* a, const uint8_t* b) {
  for (int i = 0; i < 16; ++i) a[i] ^= b[i];
}

const uint8_t ZERO[16] = {};

}  // namespace

AesSiv::AesSiv()
    : cbc(EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr)),
      ctr(EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr)), cbcCtx(EVP_CIPHER_CTX_new()),
      ctrCtx(EVP_CIPHER_CTX_new()) {
  KJ_REQUIRE(cbc != nullptr && ctr != nullptr && cbcCtx != nullptr && ctrCtx != nullptr,
             "OpenSSL has no AES-128-CBC or AES-128-CTR");
  // The ciphers are set once; each operation then only changes key and IV.
  KJ_REQUIRE(EVP_EncryptInit_ex2(cbcCtx, cbc, ZERO, ZERO, nullptr) == 1 &&
             EVP_CIPHER_CTX_set_padding(cbcCtx, 0) == 1 &&
             EVP_EncryptInit_ex2(ctrCtx, ctr, ZERO, ZERO, nullptr) == 1,
             "OpenSSL cannot set up AES");
}

AesSiv::~AesSiv() {
  EVP_CIPHER_CTX_free(ctrCtx);
  EVP_CIPHER_CTX_free(cbcCtx);
  EVP_CIPHER_free(ctr);
  EVP_CIPHER_free(cbc);
}

bool AesSiv::cmacKey(const uint8_t* key) {
  int len = 0;
  uint8_t l[16];
  if (EVP_EncryptInit_ex2(cbcCtx, nullptr, key, ZERO, nullptr) != 1 ||
      EVP_EncryptUpdate(cbcCtx, l, &len, ZERO, 16) != 1 || len != 16) {
    return false;
  }
  memcpy(sub1, l, 16);
  dbl(sub1);
  memcpy(sub2, sub1, 16);
  dbl(sub2);
  return true;
}

bool AesSiv::cmac(const uint8_t* data, size_t length, uint8_t* out) {
  // CBC-MAC over every block but the last, then the last one with its subkey (RFC 4493).
  size_t prefix = length == 0 ? 0 : (length - 1) / 16 * 16;
  uint8_t last[16] = {};
  size_t rest = length - prefix;
  if (rest > 0) memcpy(last, data + prefix, rest);   // an empty input may come as a null pointer
  if (rest == 16) {
    xor16(last, sub1);
  } else {
    last[rest] = 0x80;
    xor16(last, sub2);
  }
  int len = 0;
  if (EVP_EncryptInit_ex2(cbcCtx, nullptr, nullptr, ZERO, nullptr) != 1) return false;
  if (prefix > 0 && (EVP_EncryptUpdate(cbcCtx, scratch, &len, data, static_cast<int>(prefix)) != 1 ||
                     size_t(len) != prefix)) {
    return false;
  }
  if (EVP_EncryptUpdate(cbcCtx, out, &len, last, 16) != 1 || len != 16) return false;
  return true;
}

bool AesSiv::s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                 kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  if (ad.size() > SIV_MAX_INPUT || nonce.size() > SIV_MAX_INPUT || last.size() > SIV_MAX_INPUT) {
    return false;
  }
  uint8_t d[16], m[16];
  if (!cmacKey(key.begin()) || !cmac(ZERO, 16, d)) return false;
  kj::ArrayPtr<const uint8_t> pieces[2] = {ad, nonce};
  for (size_t p = 0; p < (nonce.size() ? 2u : 1u); ++p) {
    if (!cmac(pieces[p].begin(), pieces[p].size(), m)) return false;
    dbl(d);
    xor16(d, m);
  }
  if (last.size() >= 16) {
    // T = last xorend D.
    memcpy(folded, last.begin(), last.size());
    xor16(folded + last.size() - 16, d);
    return cmac(folded, last.size(), tag);
  }
  dbl(d);
  uint8_t t[16] = {};
  if (last.size() > 0) memcpy(t, last.begin(), last.size());   // empty: maybe a null pointer
  t[last.size()] = 0x80;
  xor16(t, d);
  return cmac(t, 16, tag);
}

bool AesSiv::ctrCrypt(const uint8_t* key, const uint8_t* v, const uint8_t* in, size_t length,
                      uint8_t* out) {
  if (length == 0) return true;
  // Q: V with the top bit of each of its last two 32-bit words cleared (RFC 5297 §2.6).
  uint8_t q[16];
  memcpy(q, v, 16);
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  int len = 0;
  return EVP_EncryptInit_ex2(ctrCtx, nullptr, key, q, nullptr) == 1 &&
         EVP_EncryptUpdate(ctrCtx, out, &len, in, static_cast<int>(length)) == 1 &&
         size_t(len) == length;
}

bool AesSiv::seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  return s2v(key, nonce, ad, plain, out) &&
         ctrCrypt(key.begin() + 16, out, plain.begin(), plain.size(), out + SIV_TAG_SIZE);
}

bool AesSiv::open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  if (sealed.size() < SIV_TAG_SIZE || sealed.size() - SIV_TAG_SIZE > SIV_MAX_INPUT) return false;
  size_t n = sealed.size() - SIV_TAG_SIZE;
  uint8_t tag[SIV_TAG_SIZE];
  return ctrCrypt(key.begin() + 16, sealed.begin(), sealed.begin() + SIV_TAG_SIZE, n, out) &&
         s2v(key, nonce, ad, kj::arrayPtr(out, n), tag) &&
         CRYPTO_memcmp(tag, sealed.begin(), SIV_TAG_SIZE) == 0;
}

}  // namespace horloge::nts
