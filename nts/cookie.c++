#include "cookie.h"
#include <cstring>
#include <kj/debug.h>
#include <openssl/crypto.h>

namespace horloge::nts {

namespace {

uint32_t keyIdOf(kj::ArrayPtr<const uint8_t> cookie) {
  return uint32_t(cookie[0]) << 24 | uint32_t(cookie[1]) << 16 | uint32_t(cookie[2]) << 8 |
         cookie[3];
}

bool sealWith(SivKey& siv, uint32_t id, const SessionKeys& keys, const uint8_t* nonce,
              uint8_t* out) {
  out[0] = static_cast<uint8_t>(id >> 24);
  out[1] = static_cast<uint8_t>(id >> 16);
  out[2] = static_cast<uint8_t>(id >> 8);
  out[3] = static_cast<uint8_t>(id);
  memcpy(out + 4, nonce, COOKIE_NONCE_SIZE);
  uint8_t plain[2 * SIV_KEY_SIZE];
  memcpy(plain, keys.c2s, SIV_KEY_SIZE);
  memcpy(plain + SIV_KEY_SIZE, keys.s2c, SIV_KEY_SIZE);
  bool ok = siv.seal(kj::arrayPtr(nonce, COOKIE_NONCE_SIZE), kj::arrayPtr(out, 4),
                     kj::arrayPtr(plain, sizeof(plain)), out + 4 + COOKIE_NONCE_SIZE);
  OPENSSL_cleanse(plain, sizeof(plain));
  return ok;
}

// `cookie` is COOKIE_SIZE bytes, under the key of its id, which `siv` holds.
CookieResult openWith(SivKey& siv, kj::ArrayPtr<const uint8_t> cookie, SessionKeys& keys) {
  uint8_t plain[2 * SIV_KEY_SIZE];
  if (!siv.open(cookie.slice(4, 4 + COOKIE_NONCE_SIZE), cookie.slice(0, 4),
                cookie.slice(4 + COOKIE_NONCE_SIZE, COOKIE_SIZE), plain)) {
    OPENSSL_cleanse(plain, sizeof(plain));
    return CookieResult::BAD;
  }
  memcpy(keys.c2s, plain, SIV_KEY_SIZE);
  memcpy(keys.s2c, plain + SIV_KEY_SIZE, SIV_KEY_SIZE);
  OPENSSL_cleanse(plain, sizeof(plain));
  return CookieResult::OK;
}

}  // namespace

bool sealCookie(AesSiv& siv, const ServerKey& key, const SessionKeys& keys, const uint8_t* nonce,
                uint8_t* out) {
  SivKey* k = siv.keyed(kj::arrayPtr(key.key, SIV_KEY_SIZE));
  return k != nullptr && sealWith(*k, key.id, keys, nonce, out);
}

CookieResult openCookie(AesSiv& siv, const KeySet& set, kj::ArrayPtr<const uint8_t> cookie,
                        SessionKeys& keys) {
  if (cookie.size() != COOKIE_SIZE) return CookieResult::BAD;
  const ServerKey* key = set.find(keyIdOf(cookie));
  if (key == nullptr) return CookieResult::UNKNOWN_KEY;
  SivKey* k = siv.keyed(kj::arrayPtr(key->key, SIV_KEY_SIZE));
  return k != nullptr ? openWith(*k, cookie, keys) : CookieResult::BAD;
}

CookieKeys::CookieKeys(): prepared(kj::heapArray<SivKey>(MAX_SERVER_KEYS)) {}

bool CookieKeys::set(KeySet set) {
  KJ_ASSERT(set.keys.size() <= MAX_SERVER_KEYS);
  keys = KeySet{};
  for (size_t i = 0; i < set.keys.size(); ++i) {
    if (!prepared[i].set(set.keys[i].key)) return false;
  }
  keys = kj::mv(set);
  return true;
}

bool CookieKeys::seal(const SessionKeys& session, const uint8_t* nonce, uint8_t* out) {
  if (empty()) return false;
  return sealWith(prepared[keys.current], keys.keys[keys.current].id, session, nonce, out);
}

CookieResult CookieKeys::open(kj::ArrayPtr<const uint8_t> cookie, SessionKeys& session) {
  if (cookie.size() != COOKIE_SIZE) return CookieResult::BAD;
  uint32_t id = keyIdOf(cookie);
  for (size_t i = 0; i < keys.keys.size(); ++i) {
    if (keys.keys[i].id == id) return openWith(prepared[i], cookie, session);
  }
  return CookieResult::UNKNOWN_KEY;
}

}  // namespace horloge::nts
