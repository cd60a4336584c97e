#include "cookie.h"
#include <cstring>

namespace horloge::nts {

bool sealCookie(AesSiv& siv, const ServerKey& key, const SessionKeys& keys, const uint8_t* nonce,
                uint8_t* out) {
  out[0] = static_cast<uint8_t>(key.id >> 24);
  out[1] = static_cast<uint8_t>(key.id >> 16);
  out[2] = static_cast<uint8_t>(key.id >> 8);
  out[3] = static_cast<uint8_t>(key.id);
  memcpy(out + 4, nonce, COOKIE_NONCE_SIZE);
  uint8_t plain[2 * SIV_KEY_SIZE];
  memcpy(plain, keys.c2s, SIV_KEY_SIZE);
  memcpy(plain + SIV_KEY_SIZE, keys.s2c, SIV_KEY_SIZE);
  return siv.seal(kj::arrayPtr(key.key, SIV_KEY_SIZE), kj::arrayPtr(nonce, COOKIE_NONCE_SIZE),
                  kj::arrayPtr(out, 4), kj::arrayPtr(plain, sizeof(plain)),
                  out + 4 + COOKIE_NONCE_SIZE);
}

CookieResult openCookie(AesSiv& siv, const KeySet& set, kj::ArrayPtr<const uint8_t> cookie,
                        SessionKeys& keys) {
  if (cookie.size() != COOKIE_SIZE) return CookieResult::BAD;
  uint32_t id = uint32_t(cookie[0]) << 24 | uint32_t(cookie[1]) << 16 | uint32_t(cookie[2]) << 8 |
                cookie[3];
  const ServerKey* key = set.find(id);
  if (key == nullptr) return CookieResult::UNKNOWN_KEY;
  uint8_t plain[2 * SIV_KEY_SIZE];
  if (!siv.open(kj::arrayPtr(key->key, SIV_KEY_SIZE), cookie.slice(4, 4 + COOKIE_NONCE_SIZE),
                cookie.slice(0, 4), cookie.slice(4 + COOKIE_NONCE_SIZE, COOKIE_SIZE), plain)) {
    return CookieResult::BAD;
  }
  memcpy(keys.c2s, plain, SIV_KEY_SIZE);
  memcpy(keys.s2c, plain + SIV_KEY_SIZE, SIV_KEY_SIZE);
  return CookieResult::OK;
}

}  // namespace horloge::nts
