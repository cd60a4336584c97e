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
constexpr size_t CHUNK = 256;   // CMAC input and CTR key stream are made this much at a time

EVP_CIPHER_CTX* newContext(const char* name) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  // The cipher is set once (padding off: every call is whole blocks); set() then only keys it.
  bool ok = cipher != nullptr && ctx != nullptr &&
            EVP_EncryptInit_ex2(ctx, cipher, nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  EVP_CIPHER_free(cipher);   // the context holds its own reference
  if (!ok) EVP_CIPHER_CTX_free(ctx);
  KJ_REQUIRE(ok, "OpenSSL cannot set up AES", name);
  return ctx;
}

}  // namespace

SivKey::SivKey(): macCtx(newContext("AES-128-CBC")), ctrCtx(newContext("AES-128-ECB")) {}

SivKey::~SivKey() {
  EVP_CIPHER_CTX_free(ctrCtx);
  EVP_CIPHER_CTX_free(macCtx);
  OPENSSL_cleanse(ctrKey, sizeof(ctrKey));
  OPENSSL_cleanse(sub1, sizeof(sub1));
  OPENSSL_cleanse(sub2, sizeof(sub2));
  OPENSSL_cleanse(d0, sizeof(d0));
  OPENSSL_cleanse(chain, sizeof(chain));
}

bool SivKey::encrypt(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out, size_t length) {
  int len = 0;
  return EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(length)) == 1 &&
         size_t(len) == length;
}

bool SivKey::set(const uint8_t* key) {
  keyed = ctrKeyed = false;
  memcpy(ctrKey, key + 16, 16);
  // The IV is given with the key, so that `chain` is known whatever OpenSSL does with the IV
  // of a context rekeyed without one. From a zero IV the first CBC block is AES(K, 0) = L.
  uint8_t l[16];
  if (EVP_EncryptInit_ex2(macCtx, nullptr, key, ZERO, nullptr) != 1 ||
      !encrypt(macCtx, ZERO, l, 16)) {
    return false;
  }
  memcpy(chain, l, 16);
  memcpy(sub1, l, 16);
  dbl(sub1);
  memcpy(sub2, sub1, 16);
  dbl(sub2);
  OPENSSL_cleanse(l, sizeof(l));
  keyed = cmac(ZERO, 16, nullptr, d0);
  return keyed;
}

bool SivKey::cmac(const uint8_t* data, size_t length, const uint8_t* xorEnd, uint8_t* out) {
  // RFC 4493 over whole blocks, the last one whole or padded and XORed with its subkey, in one
  // CBC pass: the context continues from `chain`, so the first block is XORed with it.
  size_t total = length == 0 ? 16 : (length + 15) / 16 * 16;
  size_t endStart = xorEnd ? length - 16 : length;   // where xorEnd applies (length >= 16)
  uint8_t buf[CHUNK];
  for (size_t off = 0; off < total; off += CHUNK) {
    size_t n = total - off < CHUNK ? total - off : CHUNK;
    size_t have = off < length ? (length - off < n ? length - off : n) : 0;
    if (have > 0) memcpy(buf, data + off, have);   // an empty input may come as a null pointer
    memset(buf + have, 0, n - have);
    for (size_t i = endStart > off ? endStart : off; i < off + have; ++i) {
      buf[i - off] ^= xorEnd[i - endStart];
    }
    if (off + n == total) {
      if (length > 0 && length % 16 == 0) {
        xor16(buf + n - 16, sub1);
      } else {
        buf[length - off] = 0x80;
        xor16(buf + n - 16, sub2);
      }
    }
    if (off == 0) xor16(buf, chain);
    if (!encrypt(macCtx, buf, buf, n)) return false;
    memcpy(chain, buf + n - 16, 16);
    OPENSSL_cleanse(buf, n);   // held a copy of the input: cookie plaintexts are session keys
  }
  memcpy(out, chain, 16);
  return true;
}

bool SivKey::s2v(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
                 kj::ArrayPtr<const uint8_t> last, uint8_t* tag) {
  if (!keyed) return false;
  if (ad.size() > SIV_MAX_INPUT || nonce.size() > SIV_MAX_INPUT || last.size() > SIV_MAX_INPUT) {
    return false;
  }
  uint8_t d[16], m[16];
  memcpy(d, d0, 16);
  kj::ArrayPtr<const uint8_t> pieces[2] = {ad, nonce};
  for (size_t p = 0; p < (nonce.size() ? 2u : 1u); ++p) {
    if (!cmac(pieces[p].begin(), pieces[p].size(), nullptr, m)) return false;
    dbl(d);
    xor16(d, m);
  }
  if (last.size() >= 16) return cmac(last.begin(), last.size(), d, tag);   // last xorend D
  dbl(d);
  uint8_t t[16] = {};
  if (last.size() > 0) memcpy(t, last.begin(), last.size());   // empty: maybe a null pointer
  t[last.size()] = 0x80;
  xor16(t, d);
  return cmac(t, 16, nullptr, tag);
}

bool SivKey::ctr(const uint8_t* v, const uint8_t* in, size_t length, uint8_t* out) {
  if (length == 0) return true;
  if (!ctrKeyed) {
    if (EVP_EncryptInit_ex2(ctrCtx, nullptr, ctrKey, nullptr, nullptr) != 1) return false;
    ctrKeyed = true;
  }
  // Q: V with the top bit of each of its last two 32-bit words cleared (RFC 5297 §2.6), then
  // counted up as one 128-bit big-endian number, as OpenSSL's CTR mode does.
  uint8_t q[16];
  memcpy(q, v, 16);
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  uint8_t stream[CHUNK];
  for (size_t off = 0; off < length; off += CHUNK) {
    size_t n = length - off < CHUNK ? length - off : CHUNK;
    size_t blocks = (n + 15) / 16;
    for (size_t b = 0; b < blocks; ++b) {
      memcpy(stream + b * 16, q, 16);
      for (int i = 15; i >= 0 && ++q[i] == 0; --i) {}
    }
    if (!encrypt(ctrCtx, stream, stream, blocks * 16)) return false;
    for (size_t i = 0; i < n; ++i) out[off + i] = in[off + i] ^ stream[i];
    OPENSSL_cleanse(stream, blocks * 16);
  }
  return true;
}

bool SivKey::seal(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
                  kj::ArrayPtr<const uint8_t> plain, uint8_t* out) {
  return s2v(nonce, ad, plain, out) && ctr(out, plain.begin(), plain.size(), out + SIV_TAG_SIZE);
}

bool SivKey::open(kj::ArrayPtr<const uint8_t> nonce, kj::ArrayPtr<const uint8_t> ad,
                  kj::ArrayPtr<const uint8_t> sealed, uint8_t* out) {
  if (!keyed) return false;
  if (sealed.size() < SIV_TAG_SIZE || sealed.size() - SIV_TAG_SIZE > SIV_MAX_INPUT) return false;
  size_t n = sealed.size() - SIV_TAG_SIZE;
  uint8_t tag[SIV_TAG_SIZE];
  return ctr(sealed.begin(), sealed.begin() + SIV_TAG_SIZE, n, out) &&
         s2v(nonce, ad, kj::arrayPtr(out, n), tag) &&
         CRYPTO_memcmp(tag, sealed.begin(), SIV_TAG_SIZE) == 0;
}

SivKey* AesSiv::keyed(kj::ArrayPtr<const uint8_t> key) {
  KJ_ASSERT(key.size() == SIV_KEY_SIZE);
  return scratch.set(key.begin()) ? &scratch : nullptr;
}

bool AesSiv::seal(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> plain, uint8_t* out) {
  SivKey* k = keyed(key);
  return k != nullptr && k->seal(nonce, ad, plain, out);
}

bool AesSiv::open(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                  kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> sealed, uint8_t* out) {
  SivKey* k = keyed(key);
  return k != nullptr && k->open(nonce, ad, sealed, out);
}

bool AesSiv::s2v(kj::ArrayPtr<const uint8_t> key, kj::ArrayPtr<const uint8_t> nonce,
                 kj::ArrayPtr<const uint8_t> ad, kj::ArrayPtr<const uint8_t> last, uint8_t* tag) {
  SivKey* k = keyed(key);
  return k != nullptr && k->s2v(nonce, ad, last, tag);
}

}  // namespace horloge::nts
