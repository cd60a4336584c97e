#include "aes-siv.h"
#include <cstring>
#include <kj/debug.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace horloge::nts {

AesSiv::AesSiv()
    : cipher(EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr)), ctx(EVP_CIPHER_CTX_new()),
      mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr)), macCtx(mac ? EVP_MAC_CTX_new(mac) : nullptr) {
  KJ_REQUIRE(cipher != nullptr && ctx != nullptr && macCtx != nullptr,
             "OpenSSL has no AES-128-SIV or CMAC");
  // Once: naming the cipher at every init would fetch it from the provider every time.
  char name[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, name, 0),
                         OSSL_PARAM_construct_end()};
  KJ_REQUIRE(EVP_MAC_CTX_set_params(macCtx, params) == 1, "OpenSSL refuses CMAC over AES-128");
}

AesSiv::~AesSiv() {
  EVP_MAC_CTX_free(macCtx);
  EVP_MAC_free(mac);
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
}

namespace {

// SIV takes each piece of associated data in a call of its own, the nonce last.
bool addAd(EVP_CIPHER_CTX* ctx, kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> nonce) {
  int len;
  if (EVP_CipherUpdate(ctx, nullptr, &len, ad.begin(), static_cast<int>(ad.size())) != 1) {
    return false;
  }
  if (nonce.size() > 0 &&
      EVP_CipherUpdate(ctx, nullptr, &len, nonce.begin(), static_cast<int>(nonce.size())) != 1) {
    return false;
  }
  return true;
}

void dbl(uint8_t* d) {   // multiplication by x in GF(2^128), RFC 5297 §2.3
  uint8_t carry = d[0] >> 7;
  for (int i = 0; i < 15; ++i) d[i] = static_cast<uint8_t>(d[i] << 1 | d[i + 1] >> 7);
  d[15] = static_cast<uint8_t>(d[15] << 1) ^ (carry ? 0x87 : 0);
}

}  // namespace

bool AesSiv::cmac(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> data, uint8_t* out) {
  // An empty key: the last one again (CMAC restarts without a new key schedule).
  size_t len = 0;
  return EVP_MAC_init(macCtx, key.size() ? key.begin() : nullptr, key.size(), nullptr) == 1 &&
         EVP_MAC_update(macCtx, data.begin(), data.size()) == 1 &&
         EVP_MAC_final(macCtx, out, &len, SIV_TAG_SIZE) == 1 && len == SIV_TAG_SIZE;
}

bool AesSiv::s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                 kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  auto k1 = key.slice(0, SIV_KEY_SIZE / 2);
  static const uint8_t zero[16] = {};
  uint8_t d[16], m[16];
  if (!cmac(k1, kj::arrayPtr(zero, 16), d)) return false;
  kj::ArrayPtr<const uint8_t> pieces[2] = {ad, nonce};
  for (size_t p = 0; p < (nonce.size() ? 2u : 1u); ++p) {
    if (!cmac(nullptr, pieces[p], m)) return false;
    dbl(d);
    for (int i = 0; i < 16; ++i) d[i] ^= m[i];
  }
  if (last.size() >= 16) {
    auto t = kj::heapArray<uint8_t>(last);
    for (int i = 0; i < 16; ++i) t[t.size() - 16 + i] ^= d[i];
    return cmac(nullptr, t, tag);
  }
  dbl(d);
  for (size_t i = 0; i < last.size(); ++i) d[i] ^= last[i];
  d[last.size()] ^= 0x80;
  return cmac(nullptr, kj::arrayPtr(d, 16), tag);
}

bool AesSiv::seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  if (plain.size() == 0) return s2v(key, nonce, ad, nullptr, out);
  // A fresh key schedule every time: an OpenSSL SIV context cannot be reused once finished.
  if (EVP_CipherInit_ex2(ctx, cipher, key.begin(), nullptr, 1, nullptr) != 1) return false;
  if (!addAd(ctx, ad, nonce)) return false;
  int len = 0;
  if (EVP_CipherUpdate(ctx, out + SIV_TAG_SIZE, &len, plain.begin(),
                       static_cast<int>(plain.size())) != 1) {
    return false;
  }
  if (EVP_CipherFinal_ex(ctx, out + SIV_TAG_SIZE + len, &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SIV_TAG_SIZE, out) == 1;
}

bool AesSiv::open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  if (sealed.size() < SIV_TAG_SIZE) return false;
  if (sealed.size() == SIV_TAG_SIZE) {
    uint8_t tag[SIV_TAG_SIZE];
    return s2v(key, nonce, ad, nullptr, tag) && CRYPTO_memcmp(tag, sealed.begin(), SIV_TAG_SIZE) == 0;
  }
  if (EVP_CipherInit_ex2(ctx, cipher, key.begin(), nullptr, 0, nullptr) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SIV_TAG_SIZE,
                          const_cast<uint8_t*>(sealed.begin())) != 1) {
    return false;
  }
  if (!addAd(ctx, ad, nonce)) return false;
  int len = 0;
  if (EVP_CipherUpdate(ctx, out, &len, sealed.begin() + SIV_TAG_SIZE,
                       static_cast<int>(sealed.size() - SIV_TAG_SIZE)) != 1) {
    return false;
  }
  return EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
}

}  // namespace horloge::nts
